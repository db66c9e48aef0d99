//! Tests of the simulator over real HTTP: each starts one on a free loopback port and talks to
//! it with a raw HTTP/1.1 client, so framing, keep-alive and dropped connections are real.

mod client;

mod access;
mod address_books;
mod campaigns;
mod config;
mod contacts;
mod data_fields;
mod faults;
mod imports;
mod insight;
mod limits;
mod server;
