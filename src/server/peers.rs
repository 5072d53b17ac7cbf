//! Connections counted per peer address, so that one address cannot hold every connection
//! slot (the global cap is `net`'s), and the first-byte wait: a connection that has sent nothing
//! yet is closed sooner than one that is sending its headers.
//!
//! A peer is an IP address (an IPv4-mapped IPv6 address counts as its IPv4 address). Behind a
//! proxy every client is the proxy's address: raise the cap there, or let the proxy limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// The connections each peer holds, up to a cap.
#[derive(Debug)]
pub struct PeerSlots {
    max_per_peer: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its peer's count, given back when dropped.
#[derive(Debug)]
pub struct PeerSlot {
    slots: Arc<PeerSlots>,
    peer: IpAddr,
}

impl PeerSlots {
    pub fn new(max_per_peer: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_peer,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `peer`, or `None` when it holds the cap already.
    pub fn try_acquire(self: &Arc<Self>, peer: IpAddr) -> Option<PeerSlot> {
        let peer = peer.to_canonical();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(peer).or_insert(0);
        if *count >= self.max_per_peer {
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            slots: self.clone(),
            peer,
        })
    }

    /// How many connections `peer` holds.
    #[cfg(test)]
    fn held(&self, peer: IpAddr) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(&peer.to_canonical()).copied().unwrap_or(0)
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.peer);
            }
        }
    }
}

/// Whether `stream` sends its first byte within `within` (false: it sent nothing, or closed).
pub async fn first_byte(stream: &TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, stream.peek(&mut byte)).await,
        Ok(Ok(n)) if n > 0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_peer_holds_at_most_the_cap_and_a_dropped_slot_is_given_back() {
        let slots = PeerSlots::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = slots.try_acquire(a).unwrap();
        let second = slots.try_acquire(mapped).unwrap();
        assert!(slots.try_acquire(a).is_none(), "a third from one peer");
        let other = slots
            .try_acquire(b)
            .expect("another peer has its own count");
        assert_eq!((slots.held(a), slots.held(b)), (2, 1));
        drop(first);
        assert_eq!(slots.held(a), 1);
        let again = slots.try_acquire(a).expect("the slot was given back");
        drop((second, again, other));
        assert_eq!((slots.held(a), slots.held(b)), (0, 0));
        assert!(
            slots.held.lock().unwrap().is_empty(),
            "no peer is kept at 0"
        );
    }
}
