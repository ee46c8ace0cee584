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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn project() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("staging")).unwrap();
        std::fs::create_dir_all(dir.path().join("marts")).unwrap();
        std::fs::write(
            dir.path().join("staging/a.sql"),
            "-- tags = [\"base\"]\nSELECT * FROM participants",
        )
        .unwrap();
        std::fs::write(dir.path().join("staging/b.sql"), "SELECT * FROM a").unwrap();
        std::fs::write(
            dir.path().join("marts/c.sql"),
            "-- tags = [\"mart\"]\nSELECT * FROM b",
        )
        .unwrap();
        std::fs::write(dir.path().join("marts/d.sql"), "SELECT * FROM a").unwrap();
        let tables = BTreeSet::from(["participants".to_string()]);
        Project::load(dir.path(), &tables).unwrap()
    }

    fn names(set: BTreeSet<String>) -> Vec<String> {
        set.into_iter().collect()
    }

    #[test]
    fn selectors_follow_the_graph() {
        let p = project();
        assert_eq!(names(select(&p, "b").unwrap()), ["b"]);
        assert_eq!(names(select(&p, "b+").unwrap()), ["b", "c"]);
        assert_eq!(names(select(&p, "+c").unwrap()), ["a", "b", "c"]);
        assert_eq!(names(select(&p, "a+").unwrap()), ["a", "b", "c", "d"]);
        assert_eq!(names(select(&p, "tag:mart,d").unwrap()), ["c", "d"]);
        assert_eq!(select(&p, "").unwrap().len(), 4);
        assert!(
            select(&p, "tag:none")
                .unwrap_err()
                .to_string()
                .contains("tag:none")
        );
        assert_eq!(crate::order(&p).unwrap(), ["a", "b", "c", "d"]);
    }
}
