//! The throttles area: how many API requests and registrations a client may make.

use super::read::rate;
use super::{SettingsError, Source};
use crate::throttle::Rate;

/// The request throttles (`None`: off).
pub(super) struct Throttles {
    /// `EMPORIUM_THROTTLE_ANON`.
    pub(super) anon: Option<Rate>,
    /// `EMPORIUM_THROTTLE_USER`.
    pub(super) user: Option<Rate>,
    /// `EMPORIUM_THROTTLE_REGISTER`.
    pub(super) register: Option<Rate>,
}

impl Throttles {
    /// Reads `EMPORIUM_THROTTLE_ANON` (default `6000/min`), `EMPORIUM_THROTTLE_USER`
    /// (`1200/min`) and `EMPORIUM_THROTTLE_REGISTER` (`60/hour`).
    pub(super) fn read(source: &dyn Source) -> Result<Throttles, SettingsError> {
        let throttle_anon = rate(source, "EMPORIUM_THROTTLE_ANON", "6000/min")?;
        let throttle_user = rate(source, "EMPORIUM_THROTTLE_USER", "1200/min")?;
        let throttle_register = rate(source, "EMPORIUM_THROTTLE_REGISTER", "60/hour")?;
        Ok(Throttles {
            anon: throttle_anon,
            user: throttle_user,
            register: throttle_register,
        })
    }
}
