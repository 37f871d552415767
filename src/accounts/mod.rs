//! Accounts: users, their passwords and roles.
//!
//! The foundation holds the user table and what `emporium createsuperuser` needs; registration,
//! tokens and profiles arrive with the accounts issue.

pub mod password;
pub mod service;
pub mod user;
