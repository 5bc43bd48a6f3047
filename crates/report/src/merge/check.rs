//! Which folders may be merged: shards of one run, each once.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;
use crate::folder::{Folder, bad};

/// Refuse folders that are not parts of one run; warn about shards that are missing.
pub(super) fn compatible(folders: &[Folder], out: &Path) -> Result<Vec<String>, Error> {
    let first = folders.first().ok_or_else(|| bad(out, "no report folders to merge"))?;
    let key = |f: &Folder| {
        let r = &f.summary.run;
        let profile = Path::new(&r.profile).file_name().map(|n| n.to_string_lossy().into_owned());
        (r.name.clone(), profile, r.seed, r.mode.clone(), f.summary.ops.keys().cloned().collect::<Vec<_>>())
    };
    let want = key(first);
    for f in &folders[1..] {
        let got = key(f);
        if got != want {
            let (a, b) = (&want, &got);
            let message = format!(
                "not a shard of the same run as {}: name {:?} vs {:?}, profile {:?} vs {:?}, seed {} vs {}, \
                 mode {:?} vs {:?}, ops {:?} vs {:?}",
                first.dir.display(),
                a.0,
                b.0,
                a.1.as_deref().unwrap_or(""),
                b.1.as_deref().unwrap_or(""),
                a.2,
                b.2,
                a.3,
                b.3,
                a.4,
                b.4
            );
            return Err(bad(&f.dir, message));
        }
    }
    let mut seen = BTreeMap::new();
    for f in folders {
        let canonical = f.dir.canonicalize().unwrap_or_else(|_| f.dir.clone());
        let id = match &f.summary.run.shard {
            Some(s) => s.clone(),
            None => format!("{}@{}", canonical.display(), f.summary.run.started_at),
        };
        if let Some(other) = seen.insert(id.clone(), f.dir.clone()) {
            let message =
                format!("the same run as {} (shard {id}): merging it twice would count it twice", other.display());
            return Err(bad(&f.dir, message));
        }
    }
    shard_coverage(folders)
}

/// All shards must be of the same split; those not given are reported, not invented.
fn shard_coverage(folders: &[Folder]) -> Result<Vec<String>, Error> {
    let parse = |s: &str| {
        let (i, n) = s.split_once('/')?;
        Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?))
    };
    let shards: Vec<Option<(u64, u64)>> =
        folders.iter().map(|f| f.summary.run.shard.as_deref().and_then(parse)).collect();
    if shards.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    let count = shards.iter().flatten().map(|s| s.1).next().unwrap_or(1);
    if let Some(f) = folders.iter().zip(&shards).find(|(_, s)| s.is_none_or(|(_, n)| n != count)).map(|(f, _)| f) {
        let got = f.summary.run.shard.as_deref().unwrap_or("not sharded");
        return Err(bad(&f.dir, format!("shard {got} does not belong to a split into {count} shards")));
    }
    let missing: Vec<String> =
        (0..count).filter(|i| !shards.iter().flatten().any(|s| s.0 == *i)).map(|i| format!("{i}/{count}")).collect();
    Ok(if missing.is_empty() {
        Vec::new()
    } else {
        vec![format!("shards {} were not merged: this report covers only part of the run", missing.join(", "))]
    })
}
