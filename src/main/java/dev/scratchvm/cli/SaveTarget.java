package dev.scratchvm.cli;

import dev.scratchvm.vmm.Machine;

/** Where a VM goes when the guest asks for SAVE: an image file, or a migration peer. */
interface SaveTarget extends dev.scratchvm.control.Controller.SaveHandler {
    /**
     * Saves the stopped machine. Returns true when the VM now lives on elsewhere and this
     * VMM must stop; false when saving failed and the guest must continue here.
     */
    boolean save(Machine machine);
}
