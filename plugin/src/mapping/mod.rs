//! Pure mapping from validated iPaaS.com records to Dotdigital request bodies. Nothing here
//! does I/O: each function takes WIT records (and settings) and returns JSON or field issues.

pub mod certificate;
pub mod contact;
pub mod data_fields;
pub mod datetime;
pub mod import;
pub mod order;
pub mod values;

#[cfg(test)]
mod openapi_check;

pub use certificate::{certificate, certificate_record, triggered_send, Certificate, CertificateStatus};
pub use contact::{contact_for_certificate, contact_for_order, customer_contact, ContactUpsert, CustomerContact};
pub use order::{plan_order, OrderPlan, ValidOrder};
