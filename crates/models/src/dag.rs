//! Dependency order of the models, and cycle reports.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::project::Project;

/// Every model in an order where each comes after the models it reads; ties are broken by
/// layer (staging first) and name, so the order is stable.
pub fn order(project: &Project) -> Result<Vec<String>> {
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> = project
        .models
        .values()
        .map(|m| {
            (
                m.name.as_str(),
                m.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let mut done: Vec<String> = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let mut ready: Vec<&str> = remaining
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(name, _)| *name)
            .collect();
        if ready.is_empty() {
            return Err(Error::Cycle {
                cycle: find_cycle(project, &remaining),
            });
        }
        ready.sort_by_key(|name| (project.models[*name].layer != crate::Layer::Staging, *name));
        let next = ready[0];
        remaining.remove(next);
        for deps in remaining.values_mut() {
            deps.remove(next);
        }
        done.push(next.to_string());
    }
    Ok(done)
}

fn find_cycle(project: &Project, remaining: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<String> {
    // Walk dependencies from any remaining model until a model repeats.
    let Some(start) = remaining.keys().next() else {
        return Vec::new();
    };
    let mut path: Vec<&str> = vec![start];
    loop {
        let current = path[path.len() - 1];
        let Some(next) = remaining.get(current).and_then(|deps| deps.iter().next()) else {
            return path.iter().map(|s| s.to_string()).collect();
        };
        if let Some(pos) = path.iter().position(|p| p == next) {
            let mut cycle: Vec<String> = path[pos..]
                .iter()
                .map(|n| format!("{n} ({})", project.models[*n].file))
                .collect();
            cycle.push(cycle[0].clone());
            return cycle;
        }
        path.push(next);
    }
}
