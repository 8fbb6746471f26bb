package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The process-wide worker pool.
//
// Every generated package splits its kernels' outer loops with Parallel, and
// all of them share this one pool: two models in one process (or one model
// and its Clones) then divide the cores between them instead of each starting
// GOMAXPROCS goroutines of its own and oversubscribing the machine.
//
// How a call runs. Parallel cuts [0, n) into c contiguous chunks and
// publishes them as a job whose chunks are claimed by an atomic counter. The
// caller offers the job to at most c-1 *idle* workers (a non-blocking send on
// an unbuffered channel succeeds only if a worker is waiting on it), then
// claims chunks itself until none are left, and finally waits only for the
// chunks that workers claimed and are still running. Consequences:
//
//   - Concurrent callers never wait for a worker to become free: when every
//     worker is busy, the caller simply runs all its chunks itself.
//   - A Parallel call from inside fn (nesting) is just another caller: it
//     uses whichever workers are idle and runs the rest inline, so it cannot
//     deadlock; when the outer call occupies every worker it runs entirely
//     inline, which is also what keeps nesting from oversubscribing.
//   - Nothing is allocated per call after warm-up: jobs (with their done
//     channel) are recycled through a free list, and a job returns to that
//     list only when the caller and every worker it was handed to have let
//     go of it, so a worker that wakes late can never touch a reused job.
//
// Spinning. A forward pass is a chain of short parallel steps (a batch-1
// layer is tens of microseconds), and waking a sleeping goroutine on an idle
// core takes about as long, so a woken worker would arrive when the caller
// has done every chunk itself. After each job a worker therefore spins for
// spinTime, polling a mailbox of its own, before it sleeps on the channel;
// the caller hands chunks to spinning workers first, through their
// mailboxes. An offer that a worker misses as it goes to sleep stays in its
// mailbox (holding a reference) until it next wakes, finds every chunk
// claimed and lets go: the caller never waits for a chunk nobody claimed.

// job is one Parallel call: the chunks of [0, n) and who still holds it.
type job struct {
	fn     func(lo, hi int)
	n      int
	chunks int

	next    atomic.Int64  // next chunk to claim; ≥ chunks once all are claimed
	pending atomic.Int64  // chunks not yet finished
	refs    atomic.Int32  // caller + workers the job was handed to
	done    chan struct{} // cap 1: the worker that finishes the last chunk signals the caller

	panicMu  sync.Mutex
	panicked bool
	panicVal any
}

// spinTime is how long an idle worker polls its mailbox before it sleeps.
const spinTime = 200 * time.Microsecond

// workerState is what a caller sees of one worker: whether it is spinning,
// and its mailbox.
type workerState struct {
	spinning atomic.Bool
	mailbox  atomic.Pointer[job]
}

var pool struct {
	mu      sync.Mutex                     // serialises SetThreads and the lazy start
	workers atomic.Pointer[[]*workerState] // copy-on-write under mu
	threads atomic.Int32                   // chunks per call at most; 0 until first use
	live    atomic.Int32                   // worker goroutines running (they are threads-1 at rest)
	work    chan *job                      // unbuffered: a send succeeds only to an idle worker; nil asks one to retire

	freeMu sync.Mutex
	free   []*job
}

func init() {
	// Only the channel is made here; no goroutine starts until the first
	// parallel call, so importing a generated package costs nothing.
	pool.work = make(chan *job)
}

// SetThreads sets how many goroutines (the caller's included) one Parallel
// call may use, for every model in the process. n ≤ 0 means
// runtime.GOMAXPROCS(0) at the time of the call, which is also the default.
// It may be called at any time, also while Parallel calls are running: calls
// already started keep the chunk count they chose, new workers start at once,
// and surplus ones exit once idle (at the latest after their current chunk).
func SetThreads(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	setThreadsLocked(n)
}

func setThreadsLocked(n int) {
	if n <= 0 {
		n = goruntime.GOMAXPROCS(0)
	}
	const maxThreads = 1 << 16 // far above any core count; keeps int32 safe
	n = min(n, maxThreads)
	pool.threads.Store(int32(n))
	want := int32(n - 1) // the caller always runs one chunk itself
	for ; pool.live.Load() < want; pool.live.Add(1) {
		w := &workerState{}
		register(w)
		go worker(w)
	}
	// Ask idle surplus workers to retire now; busy ones retire when their
	// chunk is done (see retire). At most one request per surplus worker.
	for extra := pool.live.Load() - want; extra > 0; extra-- {
		select {
		case pool.work <- nil:
		default:
			return
		}
	}
}

// Threads reports the current limit set by SetThreads (by default
// GOMAXPROCS, as it was when the pool was first used).
func Threads() int {
	if t := pool.threads.Load(); t > 0 {
		return int(t)
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.threads.Load() == 0 {
		setThreadsLocked(0)
	}
	return int(pool.threads.Load())
}

// Parallel calls fn(lo, hi) for contiguous chunks that together cover
// [0, n) exactly once, using at most Threads() chunks run concurrently on
// the shared pool (the calling goroutine runs at least one chunk itself,
// unless workers took them all), and returns when every chunk is done.
// Chunks differ in length by at most one.
//
// fn must be safe to call concurrently on disjoint ranges. It escapes to the
// heap: a closure literal that captures variables allocates at each call, so
// code that must not allocate (generated Run and Predict) builds its
// closures once, in New, and reuses them. A panic in any chunk is re-raised
// in the caller once all chunks have finished.
func Parallel(n int, fn func(lo, hi int)) {
	ParallelMin(n, 1, fn)
}

// ParallelMin is Parallel with a minimum chunk length: it uses at most
// n/grain chunks (at least one), so small loops, where waking a worker
// costs more than the work, run on fewer goroutines or inline. grain ≤ 1
// behaves as Parallel.
func ParallelMin(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks := Threads()
	if grain > 1 {
		chunks = min(chunks, n/grain)
	}
	chunks = min(chunks, n)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	run(n, chunks, fn)
}

func run(n, chunks int, fn func(lo, hi int)) {
	j := getJob()
	j.fn, j.n, j.chunks = fn, n, chunks
	j.next.Store(0)
	j.pending.Store(int64(chunks))
	j.refs.Store(1)

	// Hand the job to idle workers only, spinning ones first; a busy pool
	// leaves more chunks to us.
	handed := 1
	if ws := pool.workers.Load(); ws != nil {
		for _, w := range *ws {
			if handed == chunks {
				break
			}
			if !w.spinning.Load() {
				continue
			}
			j.refs.Add(1) // before the offer: the worker may release at once
			if w.mailbox.CompareAndSwap(nil, j) {
				handed++
			} else {
				j.refs.Add(-1)
			}
		}
	}
	for ; handed < chunks; handed++ {
		j.refs.Add(1)
		select {
		case pool.work <- j:
			continue
		default:
			j.refs.Add(-1)
		}
		break
	}

	if !j.work() {
		waitDone(j) // a worker runs the last chunk; it signals exactly once
	}
	// Every chunk has finished; copy what we need before letting go.
	panicked, val := j.panicked, j.panicVal
	j.release()
	if panicked {
		panic(val)
	}
}

// waitDone waits for the worker that runs j's last chunk to signal. It
// polls first, for up to spinTime: parking would make the caller wait for
// its own wake-up, as long as a short step, when the worker finishes.
func waitDone(j *job) {
	if goruntime.GOMAXPROCS(0) > 1 {
		start := time.Now()
		for i := 1; ; i++ {
			select {
			case <-j.done:
				return
			default:
			}
			if i%64 == 0 && time.Since(start) > spinTime {
				break
			}
		}
	}
	<-j.done
}

// work claims and runs chunks until none are left. It reports whether this
// goroutine finished the job's last chunk.
func (j *job) work() (last bool) {
	for {
		i := int(j.next.Add(1) - 1)
		if i >= j.chunks {
			return false
		}
		j.runChunk(i)
		if j.pending.Add(-1) == 0 {
			return true
		}
	}
}

// runChunk runs chunk i of the job, turning a panic into a recorded value so
// that the chunk still counts as finished and the caller can re-raise it.
func (j *job) runChunk(i int) {
	defer func() {
		if r := recover(); r != nil {
			j.panicMu.Lock()
			if !j.panicked {
				j.panicked, j.panicVal = true, r
			}
			j.panicMu.Unlock()
		}
	}()
	// Chunk i is [i·q + min(i, r), (i+1)·q + min(i+1, r)): the first r chunks
	// get one extra element. No product of n and chunks, so no overflow.
	q, r := j.n/j.chunks, j.n%j.chunks
	lo := i*q + min(i, r)
	hi := lo + q
	if i < r {
		hi++
	}
	j.fn(lo, hi)
}

// release drops one reference; the last one returns the job to the free list.
func (j *job) release() {
	if j.refs.Add(-1) != 0 {
		return
	}
	j.fn = nil // do not keep the caller's closure alive
	j.panicked, j.panicVal = false, nil
	pool.freeMu.Lock()
	pool.free = append(pool.free, j)
	pool.freeMu.Unlock()
}

func getJob() *job {
	pool.freeMu.Lock()
	if k := len(pool.free); k > 0 {
		j := pool.free[k-1]
		pool.free[k-1] = nil
		pool.free = pool.free[:k-1]
		pool.freeMu.Unlock()
		return j
	}
	pool.freeMu.Unlock()
	return &job{done: make(chan struct{}, 1)}
}

// worker is one long-lived pool goroutine: it runs a job, spins for the
// next one for spinTime, then sleeps on the channel.
func worker(w *workerState) {
	defer unregister(w)
	for {
		if spinWait(w) {
			return
		}
		j := <-pool.work
		if j != nil {
			runJob(j)
		}
		if retire() {
			drain(w)
			return
		}
	}
}

// spinWait polls w's mailbox, running what arrives, until spinTime passes with
// nothing; it reports whether the worker retired meanwhile. With one
// thread of Go code (GOMAXPROCS 1) it does not spin: it would only take
// the processor from the caller.
func spinWait(w *workerState) (retired bool) {
	if goruntime.GOMAXPROCS(0) > 1 {
		w.spinning.Store(true)
		start := time.Now()
		for i := 1; ; i++ {
			if j := w.mailbox.Swap(nil); j != nil {
				w.spinning.Store(false)
				runJob(j)
				if retire() {
					drain(w)
					return true
				}
				w.spinning.Store(true)
				start, i = time.Now(), 1
				continue
			}
			if i%64 == 0 {
				if time.Since(start) > spinTime {
					break
				}
				goruntime.Gosched()
			}
		}
		w.spinning.Store(false)
	}
	// An offer made as we stopped spinning.
	if j := w.mailbox.Swap(nil); j != nil {
		runJob(j)
	}
	return false
}

// runJob works on j's chunks and lets go of it.
func runJob(j *job) {
	if j.work() {
		j.done <- struct{}{}
	}
	j.release()
}

// drain lets go of an offer left in a retiring worker's mailbox.
func drain(w *workerState) {
	if j := w.mailbox.Swap(nil); j != nil {
		runJob(j)
	}
}

// register and unregister keep pool.workers, the list callers scan for
// spinning workers.
func register(w *workerState) {
	var ws []*workerState
	if old := pool.workers.Load(); old != nil {
		ws = append(ws, *old...)
	}
	ws = append(ws, w)
	pool.workers.Store(&ws)
}

func unregister(w *workerState) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	var ws []*workerState
	for _, o := range *pool.workers.Load() {
		if o != w {
			ws = append(ws, o)
		}
	}
	pool.workers.Store(&ws)
}

// retire reports whether this worker should exit because SetThreads lowered
// the limit, and if so counts it out. The check under pool.mu keeps a
// retiring worker and a concurrent SetThreads that raises the limit from
// both deciding on a stale count (which could leave the pool short).
func retire() bool {
	if pool.live.Load() <= pool.threads.Load()-1 {
		return false // fast path: no surplus
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.live.Load() <= pool.threads.Load()-1 {
		return false
	}
	pool.live.Add(-1)
	return true
}
