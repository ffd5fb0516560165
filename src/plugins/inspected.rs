//! What `plugins` looks at, from its options: a named environment; the
//! system set as `create` would compose it with the same selection options
//! (`--all-plugin`, `--system-site`, `--system-plugin`, `--exclude-plugin`,
//! `--user-site`), composed for real in a throwaway environment so that what
//! is shown is exactly what `create` makes; or an interpreter as it is,
//! where a virtual environment's python stands for that environment.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::Context;
use crate::env::compose::{self, ComposeSpec};
use crate::env::{self, CreateOptions, Environment};
use crate::interpreter::Interpreter;
use crate::layers::system::Selection;

/// The options that pick what to look at.
pub struct Request {
    pub env: Option<String>,
    pub python: Option<String>,
    pub selection: Selection,
}

pub enum Inspected {
    Env(Environment, Option<Interpreter>),
    Composed(Composed),
    Interpreter(Interpreter),
}

/// A throwaway environment holding only the selected system set; removed
/// when dropped.
pub struct Composed {
    pub env: Environment,
    pub interpreter: Interpreter,
    /// Each view directory of the environment and the real directory it
    /// shows, so that what is reported names real places.
    pub views: Vec<(PathBuf, PathBuf)>,
    dir: PathBuf,
    lock: PathBuf,
    _guard: crate::lock::LockGuard,
}

impl Drop for Composed {
    fn drop(&mut self) {
        let _ = crate::atomic::remove_tree(&self.dir);
        let _ = fs_err::remove_file(&self.lock);
    }
}

impl Composed {
    /// `path` with a view directory replaced by the directory it shows.
    pub fn real_path(&self, path: &Path) -> PathBuf {
        for (view, real) in &self.views {
            if let Ok(rest) = path.strip_prefix(view) {
                return real.join(rest);
            }
        }
        path.to_path_buf()
    }

    /// `text` with every view directory replaced by the directory it shows.
    pub fn real_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (view, real) in &self.views {
            out = out.replace(&*view.to_string_lossy(), &real.to_string_lossy());
        }
        out
    }
}

pub fn resolve(request: &Request, ctx: &Context) -> Result<Inspected> {
    if let Some(name) = &request.env {
        let env = Environment::open(&ctx.home, name)?;
        let interpreter = env.interpreter(&ctx.home, &ctx.printer).ok();
        return Ok(Inspected::Env(env, interpreter));
    }
    if !request.selection.is_empty() {
        return compose_selection(request, ctx).map(Inspected::Composed);
    }
    if let Some(python) = &request.python
        && let Some(venv) = venv_python(Path::new(python))?
    {
        return Ok(Inspected::Interpreter(venv));
    }
    Ok(Inspected::Interpreter(crate::interpreter::find(
        request.python.as_deref(),
        &ctx.home,
        &ctx.printer,
    )?))
}

/// A virtual environment's python (`VENV/bin/python`, a `pyvenv.cfg` one
/// level above its directory), queried as it is, so it answers for the
/// environment. Without system site-packages, a venv has no user site.
fn venv_python(path: &Path) -> Result<Option<Interpreter>> {
    let Some(root) = path.parent().and_then(Path::parent) else {
        return Ok(None);
    };
    let Ok(text) = fs_err::read_to_string(root.join("pyvenv.cfg")) else {
        return Ok(None);
    };
    if !crate::interpreter::is_executable(path) {
        return Ok(None);
    }
    let pairs = crate::env::pyvenv_cfg::parse(&text);
    let system_site = crate::env::pyvenv_cfg::get(&pairs, "include-system-site-packages")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut info = crate::interpreter::query_as_is(path)?;
    if !system_site {
        info.user_site = None;
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    info.sys_executable = path.clone();
    Ok(Some(Interpreter {
        request: path.display().to_string(),
        executable: path,
        info,
    }))
}

fn compose_selection(request: &Request, ctx: &Context) -> Result<Composed> {
    for dir in &request.selection.extra_dirs {
        if !dir.is_dir() {
            return Err(crate::error::UserError::new(format!(
                "--system-site {}: no such directory",
                dir.display()
            ))
            .hint("name a directory of installed distributions (a site-packages)")
            .into());
        }
    }
    let interpreter = crate::interpreter::find(request.python.as_deref(), &ctx.home, &ctx.printer)?;
    // Where a per-run environment lives, named as `gc` expects it
    // (`runs/ID/env`, locked as `run-ID` while it is used), so what a killed
    // `plugins` leaves is collected and a live one is left alone.
    let id = format!("plugins-{}", crate::runner::record::new_id());
    let dir = crate::runner::record::runs_dir(&ctx.home).join(&id);
    fs_err::create_dir_all(&dir)?;
    let options = CreateOptions {
        name: format!("run-{id}"),
        path: Some(dir.join("env")),
        prompt: None,
        clear: false,
        register: false,
        ephemeral: true,
    };
    let spec = ComposeSpec {
        system: request.selection.clone(),
        ..ComposeSpec::default()
    };
    let made = env::create_held(&ctx.home, &options, &interpreter, &ctx.printer, |env| {
        compose::compose_layers(env, &interpreter, &spec, &ctx.home, &ctx.printer)
    });
    let (env, guard) = match made {
        Ok(made) => made,
        Err(err) => {
            let _ = crate::atomic::remove_tree(&dir);
            let _ = fs_err::remove_file(env::lock_path(&ctx.home, &options.name));
            return Err(err);
        }
    };
    let views = request
        .selection
        .dirs(&interpreter)
        .into_iter()
        .enumerate()
        .map(|(i, real)| (env.dest.join("system").join(i.to_string()), real))
        .collect();
    Ok(Composed {
        lock: env::lock_path(&ctx.home, &env.name),
        env,
        interpreter,
        views,
        dir,
        _guard: guard,
    })
}
