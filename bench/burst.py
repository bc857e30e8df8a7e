"""Burst benchmark: N signed inbound texts as fast as the webhook takes them, then wait for every reply.

    python bench/burst.py [--texts 10000] [--rate 100] [--concurrency 4] [--web-workers N]
                          [--redis-conf deploy/redis.conf] [--appendfsync everysec|always]

Starts its own Redis, the Twilio stand-in, gunicorn with deploy/gunicorn.conf.py and `python -m workers`.
Every text has its own From number, so each inbound MessageSid is matched to its reply at the stand-in by
recipient: keyword texts, typos, unmatched texts and danger texts get one reply each; a few relay texts in
the middle get an acknowledgement and one forward per control-room number. A text answered inline in the
webhook's TwiML (Redis down) counts as answered. lost = replies or forwards never delivered;
duplicates = deliveries beyond the one expected. 82228 is paced at --rate messages/s (bench keywords file).
Last line: texts=<N> lost=<n> duplicates=<n> relay_max_wait_s=<x> sends_per_s=<x>
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import exchange, inbound_form, raw_post  # noqa: E402
from bench.stack import ACCOUNT_SID, CONTROL_ROOM, RELAY_LINE, SHORT_CODE, TOKEN, Stack  # noqa: E402

MIX = ("DVS", "dvs please", "STALKING", "stalkng", "Crimestoppers", "DSV", "victim", "hello", "what is this",
       "help me please", "he is outside my house", "xyzzy 42")


def texter(i: int) -> str:
    return f"+4475{i:08d}"


def make_texts(n: int) -> list[dict]:
    """The burst: mixed keyword texts with a handful of relay texts in the middle."""
    relay_at = {n // 2 + k * max(1, n // 200) for k in range(max(3, n // 1000))}
    texts = []
    for i in range(n):
        relay = i in relay_at
        texts.append({"i": i, "from": texter(i), "to": RELAY_LINE if relay else SHORT_CODE, "relay": relay,
                      "body": f"I need help, text {i}" if relay else MIX[i % len(MIX)],
                      "sid": f"SM{i:032x}"})
    return texts


def raw_request(port: int, text: dict) -> bytes:
    form = inbound_form(text["sid"], ACCOUNT_SID, text["from"], text["to"], text["body"])
    return raw_post("127.0.0.1", port, TOKEN, form)


def post(port: int, raw: bytes) -> tuple[int, bool]:
    """(HTTP status or 0, whether the TwiML answered inline with a <Message>)."""
    status, answer = exchange("127.0.0.1", port, raw)
    return status, b"<Message" in answer


def _fire(port: int, texts: list[dict], threads: int, progress, out: mp.Queue) -> None:
    lock = threading.Lock()
    position = [0]
    results = []

    def loop() -> None:
        while True:
            with lock:
                k = position[0]
                position[0] += 1
            if k >= len(texts):
                return
            text = texts[k]
            raw = raw_request(port, text)
            wall, started = time.time(), time.perf_counter()
            status, inline = post(port, raw)
            latency = time.perf_counter() - started
            retried = False
            if status != 200:
                time.sleep(1.0)  # Twilio retries a failed webhook once
                status, inline = post(port, raw)
                retried = True
            with lock:
                results.append((text["i"], status, latency, inline, wall, retried))
            with progress.get_lock():
                progress.value += 1

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(results)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else 0.0


MAX_WAIT = 900.0  # the whole retry schedule of a send is under ten minutes


def pending_jobs(stack: Stack) -> int:
    """Sends still queued, running or waiting for a retry in the stack's Redis (0 when unreachable).

    Relay reminders (escalate-*) are left out: for a case nobody acknowledges they repeat for ever.
    """
    from rq import Queue
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    try:
        r = stack.redis()
        ids: list[str] = []
        for name in ("relay", "urgent", "replies"):
            q = Queue(name, connection=r)
            ids += q.job_ids + ScheduledJobRegistry(queue=q).get_job_ids() + StartedJobRegistry(queue=q).get_job_ids()
        return sum(1 for job_id in ids if job_id.startswith("send-"))
    except Exception:
        return 0


def run_burst(stack: Stack, n: int, *, during: Callable[[Stack, mp.Value], None] | None = None,
              idle_timeout: float = 60.0, processes: int = 2, threads: int = 8) -> dict:
    """Fire the burst at a running stack and wait for every reply; returns the figures."""
    texts = make_texts(n)
    progress = mp.Value("i", 0)
    out: mp.Queue = mp.Queue()
    shares = [texts[k::processes] for k in range(processes)]
    fired_at = time.time()
    procs = [mp.Process(target=_fire, args=(stack.web_port, share, threads, progress, out)) for share in shares]
    for p in procs:
        p.start()
    fault = threading.Thread(target=during, args=(stack, progress), daemon=True) if during else None
    if fault:
        fault.start()
    messages: list[dict] = []
    results: list = []
    firing_done_at = None
    last_new = time.monotonic()
    by_texter: Counter = Counter()
    forwards: Counter = Counter()
    wanted_texters = {t["from"] for t in texts}
    relay_texts = [t for t in texts if t["relay"]]

    def complete() -> bool:
        if len(results) < n:
            return False
        inline = {texts[i]["from"] for i, _, _, inl, _, _ in results if inl}
        answered = {x for x in wanted_texters if by_texter[x] or x in inline}
        fwd_ok = all(forwards[(c, t["from"])] for t in relay_texts for c in CONTROL_ROOM
                     if t["from"] not in inline)
        return answered == wanted_texters and fwd_ok

    def collect() -> None:
        nonlocal firing_done_at
        for _ in procs:
            results.extend(out.get())
        firing_done_at = time.time()

    threading.Thread(target=collect, daemon=True).start()
    while True:
        try:
            new = stack.standin_get("messages", since=len(messages))
        except OSError:
            new = []
        if new:
            last_new = time.monotonic()
            for m in new:
                messages.append(m)
                if m["to"] in CONTROL_ROOM:
                    body = m["body"] or ""
                    at = body.find(" from +")
                    forwards[(m["to"], body[at + 6: at + 19])] += 1
                else:
                    by_texter[m["to"]] += 1
        if complete():
            break
        if len(results) >= n and time.monotonic() - last_new > idle_timeout:
            # Idle is not done while retries wait their backoff: a reply still scheduled is late, not lost.
            if not pending_jobs(stack) or time.monotonic() - last_new > MAX_WAIT:
                break
        time.sleep(0.5)
    for p in procs:
        p.join(5)

    inline_texters = {texts[i]["from"] for i, _, _, inl, _, _ in results if inl}
    lost = duplicates = 0
    lost_texts = []  # indices of texts with a reply or a forward never delivered
    for t in texts:
        got = by_texter[t["from"]] + (1 if t["from"] in inline_texters else 0)
        lost += got == 0
        duplicates += max(0, got - 1)
        missing = got == 0
        if t["relay"] and t["from"] not in inline_texters:
            for c in CONTROL_ROOM:
                f = forwards[(c, t["from"])]
                lost += f == 0
                duplicates += max(0, f - 1)
                missing = missing or f == 0
        if missing:
            lost_texts.append(t["i"])
    posted_wall = {texts[i]["from"]: wall for i, _, _, _, wall, _ in results}
    relay_waits = []
    for t in relay_texts:
        arrivals = [m["wall"] for m in messages if m["to"] in CONTROL_ROOM and t["from"] in (m["body"] or "")]
        if arrivals and t["from"] in posted_wall:
            relay_waits.append(max(arrivals) - posted_wall[t["from"]])
    short = sorted(m["t"] for m in messages if m["from"] == SHORT_CODE)
    sends_per_s = (len(short) - 1) / (short[-1] - short[0]) if len(short) > 1 else 0.0
    latencies = [lat for _, status, lat, _, _, _ in results]
    return {
        "texts": n, "lost": lost, "duplicates": duplicates, "lost_texts": lost_texts,
        "posts": {i: (status, inline, wall, lat) for i, status, lat, inline, wall, _ in results},
        "ok": sum(1 for r in results if r[1] == 200), "inline": len(inline_texters),
        "failed_posts": sum(1 for r in results if r[1] != 200), "retried_posts": sum(1 for r in results if r[5]),
        "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
        "posts_per_s": n / ((firing_done_at or time.time()) - fired_at),
        "firing_s": (firing_done_at or time.time()) - fired_at,
        "to_last_reply_s": (max(m["wall"] for m in messages) - fired_at) if messages else 0.0,
        "messages": len(messages), "sends_per_s": sends_per_s,
        "relay_texts": len(relay_texts), "relay_max_wait_s": max(relay_waits) if relay_waits else 0.0,
    }


def report(res: dict) -> str:
    print(f"webhook  posted={res['texts']} ok={res['ok']} inline={res['inline']} failed={res['failed_posts']} "
          f"retried={res['retried_posts']} p50_ms={res['p50_ms']:.1f} p99_ms={res['p99_ms']:.1f} "
          f"posts_per_s={res['posts_per_s']:.0f} firing_s={res['firing_s']:.1f}")
    print(f"delivery messages={res['messages']} time_to_last_reply_s={res['to_last_reply_s']:.1f} "
          f"sends_per_s={res['sends_per_s']:.1f} (82228, first to last send)")
    print(f"relay    texts={res['relay_texts']} longest_forward_wait_s={res['relay_max_wait_s']:.2f}")
    return (f"texts={res['texts']} lost={res['lost']} duplicates={res['duplicates']} "
            f"relay_max_wait_s={res['relay_max_wait_s']:.2f} sends_per_s={res['sends_per_s']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100, help="82228's messages/s cap (default 100)")
    parser.add_argument("--concurrency", type=int, default=10,
                        help="python -m workers --concurrency (default 10, as the Procfile)")
    parser.add_argument("--web-workers", type=int, default=None, help="gunicorn workers (default: shipped)")
    parser.add_argument("--redis-conf", type=Path, default=None, help="e.g. deploy/redis.conf")
    parser.add_argument("--appendfsync", choices=("everysec", "always", "no"), default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    with Stack(rate=args.rate, concurrency=args.concurrency, web_workers=args.web_workers,
               redis_conf=args.redis_conf, appendfsync=args.appendfsync, log_level=args.log_level) as stack:
        res = run_burst(stack, args.texts)
    print(f"setup    rate={args.rate:g}/s worker_concurrency={args.concurrency} "
          f"web_workers={args.web_workers or 'shipped'} redis={args.redis_conf or 'no persistence'} "
          f"appendfsync={args.appendfsync or '-'}")
    print(report(res))


if __name__ == "__main__":
    main()
