//! Writes applied at most once, however often they are sent. A write that a server forwards to
//! the leader carries a `RequestId` made where it was first forwarded; when the leader stops
//! answering (paused, killed, deposed), the forwarder sends it again, with the same id, to
//! whichever server leads next. The old leader may have committed it before it went quiet, so
//! the state machine remembers the ids it applied (`Requests`, the last `REMEMBERED` of them,
//! kept in snapshots) and answers a repeated id with what the first one got, applying nothing.
//! This is the client-session rule of the Raft thesis (§6.3), the same on every server because
//! it is decided at apply time, in log order.
//!
//! The ids ride in the entry itself (`Batch`): a batch without any is written as the plain
//! list of commands it always was, so logs and snapshots from before keep reading.

use std::collections::{HashMap, VecDeque};

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::super::catalog::{Catalog, Command, Outcome};
use super::NodeId;

/// Where a forwarded write was first sent from, and a random number: unique per write.
pub type RequestId = (NodeId, u64);

/// How many applied ids are remembered. A forwarder re-sends within its hold (7 s), so this
/// only has to outlast 7 s of forwarded writes; 65,536 is more than the agent takes in that
/// time, and costs about 4 MiB.
const REMEMBERED: usize = 1 << 16;

/// A new id for a write about to be forwarded from `origin`.
pub fn new_id(origin: NodeId) -> RequestId {
    (
        origin,
        getrandom::u64().expect("the OS random source failed"),
    )
}

/// The query parameter that carries a request id on an HTTP write a client agent passes on
/// to a server's API (`hedge`): ctmpl's own, so it cannot meet one of Consul's.
pub const QUERY_PARAM: &str = "ctmpl-request-id";

/// A request id as `QUERY_PARAM` carries it: `ORIGIN-NUMBER` in hex.
pub fn encode(id: RequestId) -> String {
    format!("{:x}-{:x}", id.0, id.1)
}

/// `encode`'s text back; `None` for anything else.
pub fn decode(text: &str) -> Option<RequestId> {
    let (origin, number) = text.split_once('-')?;
    Some((
        u64::from_str_radix(origin, 16).ok()?,
        u64::from_str_radix(number, 16).ok()?,
    ))
}

tokio::task_local! {
    /// The id of the HTTP write being answered, for the one Raft write it makes.
    static SCOPED: std::cell::Cell<Option<RequestId>>;
}

/// Runs `answer` (an HTTP write's handler) with `id` as the id of the Raft write it makes.
pub async fn scoped<F: std::future::Future>(id: RequestId, answer: F) -> F::Output {
    SCOPED.scope(std::cell::Cell::new(Some(id)), answer).await
}

/// The id of the HTTP write being answered, once: a second Raft write in the same request
/// gets an id of its own (so one write is never taken for another's copy).
pub fn take_scoped() -> Option<RequestId> {
    SCOPED.try_with(std::cell::Cell::take).ok().flatten()
}

/// One Raft entry's commands (group commit), with the ids of those that were forwarded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub cmds: Vec<Command>,
    /// (position in `cmds`, id), for the forwarded commands only.
    pub ids: Vec<(u32, RequestId)>,
}

impl From<Vec<Command>> for Batch {
    fn from(cmds: Vec<Command>) -> Batch {
        Batch {
            cmds,
            ids: Vec::new(),
        }
    }
}

impl Batch {
    fn id_of(&self, position: usize) -> Option<RequestId> {
        self.ids
            .iter()
            .find(|(p, _)| *p as usize == position)
            .map(|(_, id)| *id)
    }
}

impl Serialize for Batch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.ids.is_empty() {
            return self.cmds.serialize(s);
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("cmds", &self.cmds)?;
        map.serialize_entry("ids", &self.ids)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Batch, D::Error> {
        struct BatchVisitor;
        impl<'de> Visitor<'de> for BatchVisitor {
            type Value = Batch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of commands, or {cmds, ids}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch, A::Error> {
                let mut cmds = Vec::new();
                while let Some(cmd) = seq.next_element()? {
                    cmds.push(cmd);
                }
                Ok(Batch::from(cmds))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Batch, A::Error> {
                let mut batch = Batch::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "cmds" => batch.cmds = map.next_value()?,
                        "ids" => batch.ids = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(batch)
            }
        }
        d.deserialize_any(BatchVisitor)
    }
}

/// What one command of an entry answered, and at which log index it was applied (an earlier
/// entry's, for a repeated request).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Applied {
    pub index: u64,
    pub outcome: Outcome,
}

/// The ids applied lately, with what each answered; the oldest forgotten first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(from = "Vec<(RequestId, Applied)>", into = "Vec<(RequestId, Applied)>")]
pub struct Requests {
    answers: HashMap<RequestId, Applied>,
    order: VecDeque<RequestId>,
}

impl From<Vec<(RequestId, Applied)>> for Requests {
    fn from(list: Vec<(RequestId, Applied)>) -> Requests {
        let mut r = Requests::default();
        for (id, applied) in list {
            r.remember(id, applied);
        }
        r
    }
}

impl From<Requests> for Vec<(RequestId, Applied)> {
    fn from(mut r: Requests) -> Self {
        r.order
            .iter()
            .filter_map(|id| Some((*id, r.answers.remove(id)?)))
            .collect()
    }
}

/// How each command of a batch is answered: applied now, or as an earlier copy was.
enum Plan {
    /// The n-th of the commands applied now.
    Fresh(usize),
    /// Applied before, in an earlier entry.
    Before(Applied),
    /// The same request as the command at this position of this batch.
    SameAs(usize),
}

impl Requests {
    fn remember(&mut self, id: RequestId, applied: Applied) {
        if self.answers.insert(id, applied).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
    }

    /// Applies `batch` at `index` to `catalog`, each request at most once; answers every
    /// command in order.
    pub fn apply(&mut self, catalog: &Catalog, index: u64, batch: &Batch) -> Vec<Applied> {
        if batch.ids.is_empty() {
            return answered_at(index, catalog.apply(index, &batch.cmds));
        }
        let mut plan = Vec::with_capacity(batch.cmds.len());
        let mut fresh = Vec::new();
        let mut first_in_batch: HashMap<RequestId, usize> = HashMap::new();
        for (pos, cmd) in batch.cmds.iter().enumerate() {
            let id = batch.id_of(pos);
            let step = match id {
                Some(id) if self.answers.contains_key(&id) => {
                    Plan::Before(self.answers[&id].clone())
                }
                Some(id) if first_in_batch.contains_key(&id) => Plan::SameAs(first_in_batch[&id]),
                _ => {
                    if let Some(id) = id {
                        first_in_batch.insert(id, pos);
                    }
                    fresh.push(cmd.clone());
                    Plan::Fresh(fresh.len() - 1)
                }
            };
            plan.push(step);
        }
        let outcomes = if fresh.is_empty() {
            Vec::new()
        } else {
            catalog.apply(index, &fresh)
        };
        let mut out: Vec<Applied> = Vec::with_capacity(plan.len());
        for step in plan {
            let applied = match step {
                Plan::Fresh(n) => Applied {
                    index,
                    outcome: outcomes[n].clone(),
                },
                Plan::Before(a) => a,
                Plan::SameAs(pos) => out[pos].clone(),
            };
            out.push(applied);
        }
        for (pos, id) in &batch.ids {
            if let Some(applied) = out.get(*pos as usize) {
                self.remember(*id, applied.clone());
            }
        }
        out
    }
}

fn answered_at(index: u64, outcomes: Vec<Outcome>) -> Vec<Applied> {
    outcomes
        .into_iter()
        .map(|outcome| Applied { index, outcome })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::super::catalog::State;
    use super::*;

    #[test]
    fn ids_ride_in_a_query_and_come_back_once() {
        let id = (0xabc, u64::MAX);
        assert_eq!(decode(&encode(id)), Some(id));
        assert_eq!(decode("xyz"), None);
        assert_eq!(decode("1-"), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (first, second) = rt.block_on(scoped(id, async { (take_scoped(), take_scoped()) }));
        assert_eq!((first, second), (Some(id), None));
        assert_eq!(take_scoped(), None, "outside a scope");
    }

    fn set(key: &str, cas: Option<u64>) -> Command {
        Command::KvSet {
            key: key.into(),
            value: b"v".to_vec(),
            flags: 0,
            cas,
        }
    }

    #[test]
    fn a_repeated_request_is_answered_as_the_first_and_changes_nothing() {
        let catalog = Catalog::new(State::default());
        let mut requests = Requests::default();
        let id = (7, 42);
        let first = Batch {
            cmds: vec![set("a", Some(0))],
            ids: vec![(0, id)],
        };
        let got = requests.apply(&catalog, 5, &first);
        assert_eq!(got[0].outcome, Outcome::Done(true));
        // Re-sent after the leader changed: the CAS would now fail; it is answered as before.
        let again = Batch {
            cmds: vec![set("b", None), set("a", Some(0))],
            ids: vec![(1, id)],
        };
        let got = requests.apply(&catalog, 9, &again);
        assert_eq!(
            got[0],
            Applied {
                index: 9,
                outcome: Outcome::Done(true)
            }
        );
        assert_eq!(
            got[1],
            Applied {
                index: 5,
                outcome: Outcome::Done(true)
            }
        );
        let modify = catalog.read(|s| s.kv_get("a").0.map(|e| e.modify_index));
        assert_eq!(modify, Some(5), "the repeat did not write the key again");
    }

    #[test]
    fn the_same_request_twice_in_one_entry_is_applied_once() {
        let catalog = Catalog::new(State::default());
        let mut requests = Requests::default();
        let batch = Batch {
            cmds: vec![set("a", Some(0)), set("a", Some(0))],
            ids: vec![(0, (1, 1)), (1, (1, 1))],
        };
        let got = requests.apply(&catalog, 3, &batch);
        assert_eq!(got[0], got[1]);
        assert_eq!(got[1].outcome, Outcome::Done(true));
    }

    #[test]
    fn the_oldest_ids_are_forgotten_first_and_snapshots_keep_the_rest() {
        let mut r = Requests::default();
        for n in 0..(REMEMBERED as u64 + 2) {
            let applied = Applied {
                index: n,
                outcome: Outcome::Done(true),
            };
            r.remember((1, n), applied);
        }
        assert!(!r.answers.contains_key(&(1, 0)) && !r.answers.contains_key(&(1, 1)));
        assert!(r.answers.contains_key(&(1, 2)));
        let copy: Requests = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(copy, r);
    }

    #[test]
    fn a_batch_without_ids_reads_and_writes_as_the_plain_list_of_before() {
        let plain = Batch::from(vec![set("a", None)]);
        let json = serde_json::to_string(&plain).unwrap();
        assert!(json.starts_with('['), "{json}");
        assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), plain);
        let tagged = Batch {
            cmds: vec![set("a", None)],
            ids: vec![(0, (3, 4))],
        };
        let json = serde_json::to_string(&tagged).unwrap();
        assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), tagged);
    }
}
