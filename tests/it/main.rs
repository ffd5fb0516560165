//! The integration suite: the real binary, the machine's real Python, real
//! venvs and real subprocesses, each test under its own temporary home.

mod architecture;
mod attacks;
mod bad_input;
mod bad_wheels;
mod common;
mod create;
mod definitions;
mod discovery;
mod doctor;
mod hostile;
mod inputs;
mod install;
mod isolation;
mod json;
mod layers;
mod lockfile;
mod manage;
mod meta;
mod plan;
mod plugins;
mod reliability;
mod replay;
mod run;
mod scan;
mod tools;
