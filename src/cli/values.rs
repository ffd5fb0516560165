//! The option values the user picks from (`--format`, `--link-mode`,
//! `--installer`, `--probe`) and the library's own enums they stand for.
//! The library's enums do not derive clap's `ValueEnum` (no module below
//! the command line names clap), so each value enum maps onto its
//! library enum here, and only here.

use crate::cli::isolation_args::ProbeArg;
use crate::cli::{Format, InstallerArg, LinkModeArg};
use crate::commands::OutputFormat;
use crate::env::manifest::LinkMode;
use crate::isolation::probe::Action;
use crate::layers::installer::InstallerChoice;

impl From<Format> for OutputFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Human => Self::Human,
            Format::Json => Self::Json,
        }
    }
}

impl From<LinkModeArg> for LinkMode {
    fn from(mode: LinkModeArg) -> Self {
        match mode {
            LinkModeArg::Pth => Self::Pth,
            LinkModeArg::Symlink => Self::Symlink,
            LinkModeArg::Hardlink => Self::Hardlink,
            LinkModeArg::Copy => Self::Copy,
        }
    }
}

impl From<InstallerArg> for InstallerChoice {
    fn from(installer: InstallerArg) -> Self {
        match installer {
            InstallerArg::Auto => Self::Auto,
            InstallerArg::Uv => Self::Uv,
            InstallerArg::Pip => Self::Pip,
        }
    }
}

impl From<ProbeArg> for Action {
    fn from(probe: ProbeArg) -> Self {
        match probe {
            ProbeArg::Run => Self::Run,
            ProbeArg::List => Self::List,
        }
    }
}
