//! Constancia's end-to-end suite: one test binary (it links once), one
//! module per area. Add new areas as modules here.

mod cli;
mod collector;
mod crash;
mod fixtures;
mod hostile;
mod props;
mod site;
mod stored;
