//! The trust model under attack, one file per rule: each test is an attack by a hostile member
//! node, a careless client system, a wrong clock or a crash between two batches, on in-process
//! nodes (`testkit`) so the exact ordering that breaks the rule is the one that runs. Each of
//! them failed before its fix (the commit that made it pass says which).

mod clock;
mod crash;
mod creation;
mod handover;
mod revocation;
mod rotation;
