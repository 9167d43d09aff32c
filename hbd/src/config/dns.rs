//! Dynamic DNS settings, the core's (`hbd_core::dns::zones`: the zones and the rule that
//! names a host's record); their keys are read by `config/reader/dyndomains.rs`.

pub use hbd_core::dns::zones::*;
