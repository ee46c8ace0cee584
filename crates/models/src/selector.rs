//! Selectors: `name`, `name+` (and everything downstream), `+name` (and everything upstream),
//! `+name+`, `tag:x`; several are separated by commas or spaces and united.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::project::Project;

fn upstream(project: &Project, name: &str, out: &mut BTreeSet<String>) {
    if let Some(model) = project.models.get(name) {
        for dep in &model.depends_on {
            if out.insert(dep.clone()) {
                upstream(project, dep, out);
            }
        }
    }
}

fn downstream(project: &Project, name: &str, out: &mut BTreeSet<String>) {
    for model in project.models.values() {
        if model.depends_on.contains(name) && out.insert(model.name.clone()) {
            downstream(project, &model.name, out);
        }
    }
}

/// The models `selectors` picks; every model when `selectors` is empty.
pub fn select(project: &Project, selectors: &str) -> Result<BTreeSet<String>> {
    let parts: Vec<&str> = selectors
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return Ok(project.models.keys().cloned().collect());
    }
    let mut picked = BTreeSet::new();
    for part in parts {
        let mut found = BTreeSet::new();
        if let Some(tag) = part.strip_prefix("tag:") {
            for model in project
                .models
                .values()
                .filter(|m| m.config.tags.iter().any(|t| t == tag))
            {
                found.insert(model.name.clone());
            }
        } else {
            let (up, rest) = part.strip_prefix('+').map_or((false, part), |r| (true, r));
            let (down, name) = rest.strip_suffix('+').map_or((false, rest), |r| (true, r));
            let name = name.to_lowercase();
            if project.models.contains_key(&name) {
                found.insert(name.clone());
                if up {
                    upstream(project, &name, &mut found);
                }
                if down {
                    downstream(project, &name, &mut found);
                }
            }
        }
        if found.is_empty() {
            return Err(Error::Selector {
                selector: part.to_string(),
            });
        }
        picked.extend(found);
    }
    Ok(picked)
}
