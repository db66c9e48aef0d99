//! Dotdigital's REST API as the simulator answers it, one file per API family: each reads its
//! requests (path values, query, body), asks the model, and builds the answer (status, body,
//! Dotdigital's error format). Nothing here knows about sockets or locks: `server/` matches a
//! request to a handler here and hands it the caller's account.

pub(crate) mod account;
pub(crate) mod address_books;
pub(crate) mod campaigns;
pub(crate) mod contacts;
pub(crate) mod data_fields;
pub(crate) mod errors;
pub(crate) mod imports;
pub(crate) mod insight;
pub(crate) mod message;
