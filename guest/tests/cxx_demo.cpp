// C++ start-up and runtime in a static binary: static constructors, iostream,
// the standard containers and algorithms, and exceptions (the unwinder finds
// its tables through the program headers). Prints a fixed report; exit 0.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {
struct Registry {
    std::vector<std::string> names;
    Registry() { names.push_back("constructed before main"); }
};
Registry registry;

int parse(const std::string &s)
{
    std::size_t used = 0;
    int v = std::stoi(s, &used);
    if (used != s.size())
        throw std::invalid_argument("trailing characters in '" + s + "'");
    return v;
}
}  // namespace

int main()
{
    std::cout << registry.names.front() << '\n';

    std::vector<int> v(1000);
    std::iota(v.begin(), v.end(), 1);
    std::reverse(v.begin(), v.end());
    std::sort(v.begin(), v.end());
    std::cout << "sum " << std::accumulate(v.begin(), v.end(), 0L) << '\n';

    std::map<std::string, int> words;
    std::istringstream text("the quick brown fox jumps over the lazy dog the end");
    for (std::string w; text >> w;)
        ++words[w];
    for (const auto &[w, n] : words)
        if (n > 1)
            std::cout << w << " x" << n << '\n';

    int caught = 0;
    for (const char *s : {"42", "7x", "oops"}) {
        try {
            std::cout << "parsed " << parse(s) << '\n';
        } catch (const std::invalid_argument &e) {
            ++caught;
            std::cout << "error: " << e.what() << '\n';
        }
    }
    try {
        auto p = std::make_unique<std::vector<char>>(1 << 20);
        (*p)[12345] = 'x';
        throw std::runtime_error(std::string("nested ") + (*p)[12345]);
    } catch (const std::exception &e) {
        ++caught;
        std::cout << e.what() << '\n';
    }

    {
        std::ofstream out("cxx_demo.txt");
        out << "written by ofstream " << 3.25 << '\n';
    }
    std::ifstream in("cxx_demo.txt");
    std::string line;
    std::getline(in, line);
    std::cout << line << '\n';
    std::remove("cxx_demo.txt");

    std::cout << "caught " << caught << '\n';
    return caught == 3 ? 0 : 1;
}
