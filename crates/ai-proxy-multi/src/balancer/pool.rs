//! The balancer's instances and pools: one pool per model route (pool 0
//! holds every instance), each split into priority groups.

use crate::chash::Ring;
use crate::health::Health;
use crate::probe::Probe;
use crate::wrr::SmoothWrr;

#[derive(Debug)]
pub(super) struct Instance {
    pub(super) name: Box<str>,
    pub(super) priority: i64,
    pub(super) weight: u32,
    pub(super) health: Health,
    pub(super) probe: Option<Probe>,
}

#[derive(Debug)]
pub(super) struct Group {
    pub(super) members: Box<[u32]>,
    pub(super) wrr: SmoothWrr,
    pub(super) ring: Option<Ring>,
}

#[derive(Debug)]
pub(super) struct Pool {
    pub(super) members: Box<[u32]>,
    pub(super) groups: Box<[Group]>,
}

pub(super) fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

pub(super) fn build_pool(instances: &[Instance], members: Vec<u32>, chash: bool) -> Pool {
    let mut priorities: Vec<i64> = members
        .iter()
        .filter_map(|&i| instances.get(index(i)).map(|inst| inst.priority))
        .collect();
    priorities.sort_unstable_by(|a, b| b.cmp(a));
    priorities.dedup();
    let groups = priorities
        .into_iter()
        .map(|priority| {
            let group: Vec<(u32, &Instance)> = members
                .iter()
                .filter_map(|&i| instances.get(index(i)).map(|inst| (i, inst)))
                .filter(|(_, inst)| inst.priority == priority)
                .collect();
            let ring =
                chash.then(|| Ring::new(group.iter().map(|(_, inst)| (&*inst.name, inst.weight))));
            Group {
                wrr: SmoothWrr::new(group.iter().map(|(_, inst)| inst.weight).collect()),
                members: group.iter().map(|(i, _)| *i).collect(),
                ring,
            }
        })
        .collect();
    Pool {
        members: members.into_boxed_slice(),
        groups,
    }
}
