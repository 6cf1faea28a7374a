"""`make chaos`: faults the spec's disaster-recovery table promises we survive, each run
against a fresh local system with a simulated fleet, its figures printed and its invariants
checked (rs1tools.chaos.scenarios)."""
