//! An SQS standard queue as an event source mapping sees it; time (ms on the run's clock) is
//! given by the caller, so the visibility, redrive and at-least-once rules are tested without sleeping.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use cf_invalidate::text::hex;
use md5::{Digest, Md5};
use serde::Serialize;

use crate::rng::SeededRng;

#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// SQS `VisibilityTimeout`.
    pub visibility_timeout_ms: u64,
    /// A message received this many times goes to the dead-letter queue at its next receive
    /// (the redrive policy's `maxReceiveCount`); `None`: no dead-letter queue.
    pub max_receive_count: Option<u32>,
    /// Probability that a message, at its first receive, leaves a copy behind that is
    /// delivered once more (at-least-once delivery).
    pub duplicate_rate: f64,
    /// The copy turns visible within this long after the first receive (while or after the
    /// first delivery is processed).
    pub duplicate_within_ms: u64,
}

/// A message handed out by [`Queue::receive`]; times are ms on the run's clock.
#[derive(Debug, Clone)]
pub struct Received {
    /// The same for a duplicate copy.
    pub message_id: String,
    /// Only the latest handle of a message deletes it.
    pub receipt_handle: String,
    pub body: Arc<str>,
    pub md5_of_body: Arc<str>,
    /// `ApproximateReceiveCount`, this receive included.
    pub receive_count: u32,
    pub sent_ms: u64,
    pub first_receive_ms: u64,
    /// Whether this is the left-behind copy of an at-least-once delivery.
    pub duplicate_copy: bool,
}

/// A message moved to the dead-letter queue (`at_ms`: when).
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub at_ms: u64,
}

/// What the queue did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    pub sent: u64,
    /// Deliveries (one message in one batch counts once).
    pub received: u64,
    /// Deliveries of a message received before (after a failure or an expired visibility).
    pub redelivered: u64,
    /// Copies left behind for an at-least-once duplicate delivery.
    pub duplicates_planted: u64,
    pub duplicates_delivered: u64,
    pub deleted: u64,
    /// Deletes with a receipt handle that was no longer the latest (the message had been
    /// received again meanwhile): SQS accepts them, and the message stays.
    pub stale_deletes: u64,
    pub dead_lettered: u64,
}

#[derive(Debug, Clone)]
struct Stored {
    message_id: String,
    body: Arc<str>,
    md5: Arc<str>,
    sent_ms: u64,
    first_receive_ms: Option<u64>,
    receive_count: u32,
    /// Bumped at every visibility change; a heap entry of another version is stale.
    version: u32,
    duplicate_copy: bool,
}

#[derive(Debug)]
pub struct Queue {
    settings: QueueSettings,
    messages: HashMap<u64, Stored>,
    visible: VecDeque<u64>,
    /// `(visible at, message, version)` of invisible messages.
    hidden: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// Receipt handle to `(message, receive count when handed out)`.
    receipts: HashMap<String, (u64, u32)>,
    dead_letters: Vec<DeadLetter>,
    next: u64,
    rng: SeededRng,
    counts: QueueCounts,
}

impl Queue {
    /// An empty queue; `rng` draws message ids, receipt handles and duplicates.
    pub fn new(settings: QueueSettings, rng: SeededRng) -> Self {
        Self {
            settings,
            messages: HashMap::new(),
            visible: VecDeque::new(),
            hidden: BinaryHeap::new(),
            receipts: HashMap::new(),
            dead_letters: Vec::new(),
            next: 0,
            rng,
            counts: QueueCounts::default(),
        }
    }

    /// `SendMessage`: returns the new message id.
    pub fn send(&mut self, body: &str, now_ms: u64) -> String {
        let message_id = self.rng.uuid();
        let stored = Stored {
            message_id: message_id.clone(),
            md5: hex(&Md5::digest(body)).into(),
            body: body.into(),
            sent_ms: now_ms,
            first_receive_ms: None,
            receive_count: 0,
            version: 0,
            duplicate_copy: false,
        };
        self.insert(stored, None);
        self.counts.sent += 1;
        message_id
    }

    fn insert(&mut self, stored: Stored, visible_at: Option<u64>) {
        let seq = self.next;
        self.next += 1;
        let version = stored.version;
        self.messages.insert(seq, stored);
        match visible_at {
            None => self.visible.push_back(seq),
            Some(at) => self.hidden.push(Reverse((at, seq, version))),
        }
    }

    /// Makes visible every hidden message whose time has come.
    fn reveal(&mut self, now_ms: u64) {
        while let Some(Reverse((at, seq, version))) = self.hidden.peek().copied() {
            if at > now_ms {
                break;
            }
            self.hidden.pop();
            if self
                .messages
                .get(&seq)
                .is_some_and(|m| m.version == version)
            {
                self.visible.push_back(seq);
            }
        }
    }

    /// `ReceiveMessage`: up to `max` visible messages whose sizes (`size_of` their body) fit
    /// in `budget`. Each becomes invisible for the visibility timeout. A message already
    /// received `max_receive_count` times goes to the dead-letter queue instead.
    pub fn receive(
        &mut self,
        now_ms: u64,
        max: usize,
        mut budget: usize,
        size_of: impl Fn(&str) -> usize,
    ) -> Vec<Received> {
        self.reveal(now_ms);
        let mut out = Vec::new();
        while out.len() < max {
            let Some(&seq) = self.visible.front() else {
                break;
            };
            let Some(stored) = self.messages.get(&seq) else {
                self.visible.pop_front();
                continue;
            };
            if self
                .settings
                .max_receive_count
                .is_some_and(|m| stored.receive_count >= m)
            {
                self.visible.pop_front();
                if let Some(stored) = self.messages.remove(&seq) {
                    self.dead_letters.push(DeadLetter {
                        message_id: stored.message_id,
                        body: stored.body.to_string(),
                        receive_count: stored.receive_count,
                        at_ms: now_ms,
                    });
                    self.counts.dead_lettered += 1;
                }
                continue;
            }
            let size = size_of(&stored.body);
            if size > budget {
                break;
            }
            budget -= size;
            self.visible.pop_front();
            out.extend(self.hand_out(seq, now_ms));
        }
        out
    }

    fn hand_out(&mut self, seq: u64, now_ms: u64) -> Option<Received> {
        let receipt_handle = format!(
            "AQEB{}",
            self.rng.string_from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                96
            )
        );
        let duplicate_draw = self.rng.chance(self.settings.duplicate_rate);
        let within = self.rng.between(0, self.settings.duplicate_within_ms);
        let visible_at = now_ms + self.settings.visibility_timeout_ms;
        let stored = self.messages.get_mut(&seq)?;
        let first_receive = stored.first_receive_ms.is_none();
        stored.receive_count += 1;
        stored.version += 1;
        let first_receive_ms = *stored.first_receive_ms.get_or_insert(now_ms);
        let received = Received {
            message_id: stored.message_id.clone(),
            receipt_handle: receipt_handle.clone(),
            body: stored.body.clone(),
            md5_of_body: stored.md5.clone(),
            receive_count: stored.receive_count,
            sent_ms: stored.sent_ms,
            first_receive_ms,
            duplicate_copy: stored.duplicate_copy,
        };
        let version = stored.version;
        let copy = (first_receive && !stored.duplicate_copy && duplicate_draw).then(|| Stored {
            first_receive_ms: None,
            version: 0,
            duplicate_copy: true,
            ..stored.clone()
        });
        self.hidden.push(Reverse((visible_at, seq, version)));
        self.receipts
            .insert(receipt_handle, (seq, received.receive_count));
        self.counts.received += 1;
        if received.duplicate_copy && first_receive {
            self.counts.duplicates_delivered += 1;
        } else if received.receive_count > 1 {
            self.counts.redelivered += 1;
        }
        if let Some(copy) = copy {
            self.counts.duplicates_planted += 1;
            self.insert(copy, Some(now_ms + within));
        }
        Some(received)
    }

    /// `DeleteMessage`: true if the handle was the message's latest (the message is gone);
    /// false for an older handle (accepted, but the message stays) or an unknown one.
    pub fn delete(&mut self, receipt_handle: &str) -> bool {
        let Some((seq, count)) = self.receipts.remove(receipt_handle) else {
            return false;
        };
        match self.messages.get(&seq) {
            Some(m) if m.receive_count == count => {
                self.messages.remove(&seq);
                self.counts.deleted += 1;
                true
            }
            _ => {
                self.counts.stale_deletes += 1;
                false
            }
        }
    }

    /// `ChangeMessageVisibility`: the message turns visible again at `visible_at_ms` (used for
    /// Lambda's asynchronous retries). False for a handle that is not the latest.
    pub fn change_visibility(&mut self, receipt_handle: &str, visible_at_ms: u64) -> bool {
        let Some(&(seq, count)) = self.receipts.get(receipt_handle) else {
            return false;
        };
        match self.messages.get_mut(&seq) {
            Some(m) if m.receive_count == count => {
                m.version += 1;
                self.hidden.push(Reverse((visible_at_ms, seq, m.version)));
                true
            }
            _ => false,
        }
    }

    /// Forgets a handle that will be neither deleted nor changed (the message comes back when
    /// its visibility timeout ends).
    pub fn abandon(&mut self, receipt_handle: &str) {
        self.receipts.remove(receipt_handle);
    }

    /// Whether a message was left visible by the last receive (it did not fit).
    pub fn has_visible(&self) -> bool {
        !self.visible.is_empty()
    }

    /// Whether every message has been deleted or dead-lettered.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Messages in the queue (visible, in flight, or copies waiting to come back).
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn counts(&self) -> &QueueCounts {
        &self.counts
    }

    pub fn dead_letters(&self) -> &[DeadLetter] {
        &self.dead_letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(max_receive_count: Option<u32>, duplicate_rate: f64) -> Queue {
        Queue::new(
            QueueSettings {
                visibility_timeout_ms: 1000,
                max_receive_count,
                duplicate_rate,
                duplicate_within_ms: 500,
            },
            SeededRng::new(3),
        )
    }

    fn one(_: &str) -> usize {
        1
    }

    #[test]
    fn a_received_message_hides_until_its_visibility_timeout_ends() {
        // GIVEN a message received at t=0
        let mut q = queue(None, 0.0);
        let id = q.send("a", 0);
        let first = q.receive(0, 10, usize::MAX, one);
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].message_id.as_str(), first[0].receive_count),
            (id.as_str(), 1)
        );
        // WHEN nobody deletes it THEN it is invisible until t=1000, then comes back
        assert!(q.receive(999, 10, usize::MAX, one).is_empty());
        let again = q.receive(1000, 10, usize::MAX, one);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receive_count, 2);
        assert_eq!(again[0].first_receive_ms, 0);
        assert_eq!(q.counts().redelivered, 1);
        // AND the first receipt handle no longer deletes it; the latest does
        assert!(!q.delete(&first[0].receipt_handle));
        assert_eq!(q.counts().stale_deletes, 1);
        assert!(q.delete(&again[0].receipt_handle));
        assert!(q.is_empty());
    }

    #[test]
    fn after_max_receive_count_the_message_is_dead_lettered() {
        let mut q = queue(Some(2), 0.0);
        q.send("a", 0);
        assert_eq!(q.receive(0, 10, usize::MAX, one).len(), 1);
        assert_eq!(q.receive(1000, 10, usize::MAX, one).len(), 1);
        // The third receive finds it received twice: to the dead-letter queue.
        assert!(q.receive(2000, 10, usize::MAX, one).is_empty());
        assert_eq!(q.dead_letters().len(), 1);
        assert_eq!(q.dead_letters()[0].receive_count, 2);
        assert_eq!(q.counts().dead_lettered, 1);
        assert!(q.is_empty());
    }

    #[test]
    fn receive_respects_the_count_and_the_byte_budget() {
        let mut q = queue(None, 0.0);
        for body in ["aaaa", "bbbb", "cccc"] {
            q.send(body, 0);
        }
        let got = q.receive(0, 10, 9, |b| b.len());
        assert_eq!(got.len(), 2);
        let got = q.receive(0, 1, usize::MAX, one);
        assert_eq!(got.len(), 1);
        assert_eq!(&*got[0].body, "cccc");
        // md5("cccc"), as `md5sum` gives it.
        assert_eq!(&*got[0].md5_of_body, "41fcba09f2bdcdf315ba4119dc7978dd");
    }

    #[test]
    fn a_duplicate_copy_comes_back_once_even_after_the_delete() {
        let mut q = queue(None, 1.0);
        let id = q.send("a", 0);
        let first = q.receive(0, 10, usize::MAX, one);
        assert!(q.delete(&first[0].receipt_handle));
        assert_eq!(q.counts().duplicates_planted, 1);
        assert!(!q.is_empty(), "the copy is still stored");
        let copy = q.receive(500, 10, usize::MAX, one);
        assert_eq!(copy.len(), 1);
        assert_eq!(copy[0].message_id, id);
        assert!(copy[0].duplicate_copy);
        assert_eq!(q.counts().duplicates_delivered, 1);
        assert!(q.delete(&copy[0].receipt_handle));
        assert!(q.is_empty());
        assert_eq!(q.counts().duplicates_planted, 1, "a copy leaves no copy");
    }

    #[test]
    fn change_visibility_brings_a_message_back_early() {
        let mut q = queue(None, 0.0);
        q.send("a", 0);
        let got = q.receive(0, 10, usize::MAX, one);
        assert!(q.change_visibility(&got[0].receipt_handle, 100));
        assert_eq!(q.receive(100, 10, usize::MAX, one).len(), 1);
        // The old visibility entry (t=1000) is stale and brings nothing back early.
        assert!(q.receive(1000, 10, usize::MAX, one).is_empty());
    }
}
