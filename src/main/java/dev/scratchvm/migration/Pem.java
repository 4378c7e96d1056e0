package dev.scratchvm.migration;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The PEM files of a TLS directory (RFC 7468): certificates ({@code CERTIFICATE}) and one
 * unencrypted PKCS#8 private key ({@code PRIVATE KEY}), RSA or EC. Every failure is one line
 * naming the file.
 */
final class Pem {
    private static final String BEGIN = "-----BEGIN ", END = "-----END ", DASHES = "-----";

    private Pem() {
    }

    /** One labelled block, decoded. */
    record Block(String label, byte[] der) {
    }

    /** The blocks of {@code text}, in order; text between blocks is ignored, as RFC 7468 allows. */
    static List<Block> blocks(String text, Path file) throws MigrationException {
        List<Block> blocks = new ArrayList<>();
        int at = 0;
        while (true) {
            int begin = text.indexOf(BEGIN, at);
            if (begin < 0) return blocks;
            int labelEnd = text.indexOf(DASHES, begin + BEGIN.length());
            int eol = text.indexOf('\n', begin);
            if (labelEnd < 0 || eol >= 0 && labelEnd > eol) throw malformed(file, "a BEGIN line without its closing dashes");
            String label = text.substring(begin + BEGIN.length(), labelEnd);
            String endLine = END + label + DASHES;
            int end = text.indexOf(endLine, labelEnd);
            if (end < 0) throw malformed(file, "'" + BEGIN + label + DASHES + "' has no '" + endLine + "'");
            String body = text.substring(labelEnd + DASHES.length(), end).replaceAll("\\s", "");
            if (body.contains(":")) throw malformed(file, label + " has headers (an encrypted or legacy PEM block)");
            try {
                blocks.add(new Block(label, Base64.getDecoder().decode(body)));
            } catch (IllegalArgumentException e) {
                throw malformed(file, label + " is not valid base64");
            }
            at = end + endLine.length();
        }
    }

    /** Every certificate in the file, in order (for a chain: this side's certificate first). */
    static List<X509Certificate> certificates(byte[] content, Path file) throws MigrationException {
        List<X509Certificate> certs = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 unavailable", e);
        }
        for (Block b : blocks(new String(content, StandardCharsets.US_ASCII), file)) {
            if (!b.label().equals("CERTIFICATE")) continue;
            try {
                certs.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
            } catch (CertificateException | ClassCastException e) {
                throw malformed(file, "certificate " + (certs.size() + 1) + " cannot be parsed (" + reason(e) + ")");
            }
        }
        if (certs.isEmpty()) throw malformed(file, "it holds no '" + BEGIN + "CERTIFICATE" + DASHES + "' block");
        return certs;
    }

    /** The one private key in the file: PKCS#8, unencrypted, RSA or EC. */
    static PrivateKey privateKey(byte[] content, Path file) throws MigrationException {
        List<Block> keys = new ArrayList<>();
        for (Block b : blocks(new String(content, StandardCharsets.US_ASCII), file)) {
            switch (b.label()) {
                case "PRIVATE KEY" -> keys.add(b);
                case "ENCRYPTED PRIVATE KEY" -> throw malformed(file, "the key is encrypted; it must be unencrypted PKCS#8"
                        + " (openssl pkcs8 -topk8 -nocrypt -in " + file + ")");
                case "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw malformed(file, "the key is in the legacy " + b.label()
                        + " format; convert it to PKCS#8 with: openssl pkcs8 -topk8 -nocrypt -in " + file + " -out NEW");
                default -> { }
            }
        }
        if (keys.size() != 1) {
            throw malformed(file, keys.isEmpty() ? "it holds no '" + BEGIN + "PRIVATE KEY" + DASHES + "' block"
                    : "it holds " + keys.size() + " private keys; one is expected");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(keys.get(0).der());
        for (String algorithm : List.of("EC", "RSA")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (InvalidKeySpecException e) {
                // Not this algorithm (or malformed): try the next.
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(algorithm + " unavailable", e);
            }
        }
        throw malformed(file, "the PKCS#8 key is malformed, or neither RSA nor EC");
    }

    static MigrationException malformed(Path file, String what) {
        return MigrationException.local(file + " is not usable: " + what);
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }
}
