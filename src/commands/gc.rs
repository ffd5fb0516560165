//! `tempest-env gc`: print what [`crate::gc::collect`] removed.

use anyhow::Result;

use crate::Context;
use crate::printer::human_size;

pub fn run(dry_run: bool, ctx: &Context) -> Result<u8> {
    let removal = crate::gc::collect(&ctx.home, dry_run)?;
    if removal.paths.is_empty() {
        ctx.printer.status("Nothing to remove");
        return Ok(0);
    }
    let verb = if dry_run { "Would remove" } else { "Removed" };
    for path in &removal.paths {
        ctx.printer.out(format!("{verb} {}", path.display()));
    }
    let count = removal.paths.len();
    ctx.printer.status(format!(
        "{} {} ({})",
        if dry_run { "Would free" } else { "Freed" },
        human_size(removal.freed),
        if count == 1 {
            "1 path".to_string()
        } else {
            format!("{count} paths")
        }
    ));
    Ok(0)
}
