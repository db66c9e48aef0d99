//! One byte budget for what the host holds for calls outside their own memory: request and
//! answer bodies read whole, and wasi:http `fields`. Each call's own caps bound one call, but
//! calls at once multiply them (four 50 MiB bodies a call, 64 calls at once), so every call
//! reserves from one budget, per loaded plugin (the harness loads one), as the bytes arrive,
//! and gives them back when they are dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body;

/// Bytes reserved by every call together, at most `cap`.
#[derive(Debug)]
pub struct BufferBudget {
    cap: usize,
    used: AtomicUsize,
}

impl BufferBudget {
    pub fn new(cap: usize) -> Arc<BufferBudget> {
        Arc::new(BufferBudget { cap, used: AtomicUsize::new(0) })
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    fn take(&self, bytes: usize) -> bool {
        let fits = |used: usize| used.checked_add(bytes).filter(|&total| total <= self.cap);
        self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, fits).is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// A reservation the budget refused: its size, and how many more bytes were asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct OverBudget {
    pub budget: usize,
    pub wanted: usize,
}

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (budget, wanted) = (self.budget >> 20, self.wanted);
        write!(f, "the host's {budget} MiB for bodies and headers of all calls is spent ({wanted} more bytes refused)")
    }
}

impl std::error::Error for OverBudget {}

/// One call's way to the budget. Its first refusal is kept (the call ends as a plugin fault)
/// and ends its share: a refused call is given nothing more.
#[derive(Debug, Clone)]
pub struct CallBudget {
    budget: Arc<BufferBudget>,
    refused: Arc<OnceLock<OverBudget>>,
}

impl CallBudget {
    pub fn new(budget: Arc<BufferBudget>) -> CallBudget {
        CallBudget { budget, refused: Arc::default() }
    }

    /// Nothing reserved yet.
    pub fn empty(&self) -> Reservation {
        Reservation { call: self.clone(), bytes: 0 }
    }

    /// The first reservation this call was refused, if any.
    pub fn refused(&self) -> Option<&OverBudget> {
        self.refused.get()
    }

    fn take(&self, bytes: usize) -> Result<(), OverBudget> {
        if let Some(refused) = self.refused() {
            return Err(refused.clone());
        }
        if self.budget.take(bytes) {
            return Ok(());
        }
        let over = OverBudget { budget: self.budget.cap, wanted: bytes };
        Err(self.refused.get_or_init(|| over).clone())
    }
}

/// Bytes held from the budget until this is dropped.
#[derive(Debug)]
pub struct Reservation {
    call: CallBudget,
    bytes: usize,
}

impl Reservation {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Grows or shrinks to `bytes`; a refused growth keeps what was held.
    pub fn resize(&mut self, bytes: usize) -> Result<(), OverBudget> {
        if bytes <= self.bytes {
            self.call.budget.give_back(self.bytes - bytes);
        } else {
            self.call.take(bytes - self.bytes)?;
        }
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.call.budget.give_back(self.bytes);
    }
}

/// Bytes read from a body and the reservation for them: as the owner of a `Bytes`, it lives
/// until the last view of them is dropped (sent, or read by the component).
struct Held {
    bytes: Vec<u8>,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Why a body was not read whole.
#[derive(Debug)]
pub enum Collect<E> {
    /// The body itself failed.
    Body(E),
    /// It is longer than the call's limit.
    TooLarge,
    /// The process's budget refused the memory for the next chunk.
    OverBudget(OverBudget),
}

/// Reads `body`'s data whole (trailers are dropped), at most `limit` bytes, into one buffer
/// whose memory is reserved from `call`'s budget before each chunk is copied in: a refusal
/// stops reading before the bytes are held. The buffer doubles (up to `limit`) and the
/// reservation follows its capacity, the memory it really takes.
pub async fn collect<B>(mut body: B, limit: usize, call: &CallBudget) -> Result<Bytes, Collect<B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut buffer = Vec::new();
    let mut reservation = call.empty();
    while let Some(frame) = body.frame().await {
        let Ok(chunk) = frame.map_err(Collect::Body)?.into_data() else { continue };
        let wanted = buffer.len().saturating_add(chunk.len());
        if wanted > limit {
            return Err(Collect::TooLarge);
        }
        if wanted > buffer.capacity() {
            let capacity = wanted.max(buffer.capacity().saturating_mul(2)).min(limit);
            reservation.resize(capacity).map_err(Collect::OverBudget)?;
            buffer.reserve_exact(capacity - buffer.len());
        }
        buffer.extend_from_slice(&chunk);
    }
    if buffer.is_empty() {
        return Ok(Bytes::new());
    }
    buffer.shrink_to_fit();
    reservation.resize(buffer.capacity()).map_err(Collect::OverBudget)?;
    Ok(Bytes::from_owner(Held { bytes: buffer, _reservation: reservation }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body_util::Full;
    use hyper::body::Frame;

    /// A body of chunks of these sizes, each its own frame.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    fn chunks(sizes: &[usize]) -> Chunks {
        Chunks(sizes.iter().map(|&n| Bytes::from(vec![7u8; n])).collect())
    }

    #[tokio::test]
    async fn a_body_holds_its_bytes_from_the_budget_until_the_last_view_is_dropped() {
        let budget = BufferBudget::new(1 << 20);
        let call = CallBudget::new(budget.clone());
        let bytes = collect(chunks(&[1000, 3000, 500]), 10_000, &call).await.unwrap();
        assert_eq!(bytes.len(), 4500);
        assert_eq!(budget.used(), 4500, "shrunk to its size once read");
        let view = bytes.slice(100..200);
        drop(bytes);
        assert_eq!(budget.used(), 4500, "a view still holds the buffer");
        drop(view);
        assert_eq!(budget.used(), 0);
        assert!(call.refused().is_none());
    }

    #[tokio::test]
    async fn the_budget_refuses_a_chunk_before_it_is_held_and_the_call_gets_nothing_more() {
        let budget = BufferBudget::new(10_000);
        let other = CallBudget::new(budget.clone());
        let mut held = other.empty();
        held.resize(6_000).unwrap();
        let call = CallBudget::new(budget.clone());
        let refused = collect(chunks(&[3000, 3000]), 1 << 20, &call).await;
        assert!(matches!(refused, Err(Collect::OverBudget(OverBudget { budget: 10_000, wanted: 3000 }))));
        assert_eq!(budget.used(), 6_000, "what the refused call held is given back");
        assert_eq!(call.refused().map(|over| over.wanted), Some(3000));
        drop(held);
        let later = collect(Full::new(Bytes::from_static(b"x")), 10, &call).await;
        assert!(matches!(later, Err(Collect::OverBudget(_))), "a refused call gets nothing more");
        assert!(collect(Full::new(Bytes::from_static(b"x")), 10, &other).await.is_ok(), "other calls go on");
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_body_over_the_call_limit_is_refused_without_spending_the_budget() {
        let budget = BufferBudget::new(1 << 20);
        let call = CallBudget::new(budget.clone());
        assert!(matches!(collect(chunks(&[600, 600]), 1000, &call).await, Err(Collect::TooLarge)));
        assert_eq!(budget.used(), 0);
        assert!(call.refused().is_none(), "the call's own limit is not the budget's");
        let empty = collect(chunks(&[]), 1000, &call).await.unwrap();
        assert!(empty.is_empty());
    }
}
