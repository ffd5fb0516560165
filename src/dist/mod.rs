//! Installed distributions: metadata formats (`.dist-info`, `.egg-info`),
//! entry points, and `.pth` files.

pub mod check;
pub mod direct_url;
pub mod egg_info;
pub mod entry_points;
pub mod metadata;
pub mod name;
pub mod pth;
pub mod record;
pub mod requirement;
pub mod scan;
pub mod site_path;
