#!/usr/bin/env python3
"""Interleaved A/B CPU per request of two `ai-proxy serve` instances (same binary or two binaries) and
bare nginx, all behind one nginx upstream, same wrk load as gateway_cpu.py (32 connections, POST chat).
usage: gateway_ab.py AIP_A AIP_B MODE [--pairs N] [--seconds S]
MODE: metrics (A: plain, B: --metrics-listen) | limit (A: plain, B: route with in-memory ai-rate-limiting)
      | doc (A: plain config, B: the same ai-proxy as a route document) | bin (A and B the same plain
      config: compare two binaries, or one binary against itself to see the method's noise)
      | nginx (A plain vs nginx ratio)
Order per pair: A B (alternating start: even pairs A first, odd pairs B first). Prints every
measurement and medians/means of B/A, and of A/nginx."""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, statistics
A, B, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
PAIRS = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 5
SECS = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 6
sys.argv = [sys.argv[0], A]
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway_cpu.py")).read()
src = src[:src.index("def main():")]
exec(src)
def main():
    up = free_port(); ng = free_port(); ga = free_port(); gb = free_port(); mp = free_port()
    open(os.path.join(TMP, "chat.json"), "w").write(CHAT)
    pn, cfg = start_upstream_and_proxy(up, ng, chat_upstream_conf(up))
    cfga = os.path.join(TMP, "a.json"); json.dump(cfg, open(cfga, "w"))
    bcfg = cfg; bargs = []
    if MODE == "limit":
        bcfg = {"uri": "/v1/chat/completions", "plugins": {"ai-proxy": cfg, "ai-rate-limiting": {"limit": 9007199254740991, "time_window": 60}}}
    if MODE == "doc":
        bcfg = {"uri": "/v1/chat/completions", "plugins": {"ai-proxy": cfg}}
    if MODE == "metrics": bargs = ["--metrics-listen", f"127.0.0.1:{mp}"]
    cfgb = os.path.join(TMP, "b.json"); json.dump(bcfg, open(cfgb, "w"))
    base = ["serve", "--log-format", "json"]
    pa = start([A] + base + ["--config", cfga, "--listen", f"127.0.0.1:{ga}"], "a")
    pb = start([B] + base + ["--config", cfgb, "--listen", f"127.0.0.1:{gb}"] + bargs, "b")
    for p in (up, ng, ga, gb):
        if not wait_port(p): print(f"port {p} never opened"); return 1
    def cpu(port, pid):
        c0 = cpu_of(pid); r, _, _, bad = wrk(port, "/v1/chat/completions", 32, SECS); c1 = cpu_of(pid)
        assert bad == 0, "errors"
        return (c1 - c0) / r * 1e6
    # warm-up
    for port in (ga, gb, ng): wrk(port, "/v1/chat/completions", 32, 1)
    ra, rb, rn = [], [], []
    for i in range(PAIRS):
        order = [("A", ga, pa.pid), ("B", gb, pb.pid)]
        if i % 2: order.reverse()
        for name, port, pid in order:
            v = cpu(port, pid); (ra if name == "A" else rb).append(v)
        if MODE == "nginx": rn.append(cpu(ng, pn.pid))
        print(f"pair {i}: A {ra[-1]:.1f} B {rb[-1]:.1f} µs/req" + (f" nginx {rn[-1]:.1f}" if rn else "") + f"  load {os.getloadavg()[0]:.1f}", flush=True)
    md = lambda x: statistics.median(x); mn = lambda x: statistics.mean(x)
    print(f"A median {md(ra):.1f} mean {mn(ra):.1f} | B median {md(rb):.1f} mean {mn(rb):.1f}")
    print(f"B/A: median-of-ratios {md([b/a for a, b in zip(ra, rb)]):.3f} ratio-of-medians {md(rb)/md(ra):.3f} ratio-of-means {mn(rb)/mn(ra):.3f}")
    if rn:
        print(f"nginx median {md(rn):.1f} mean {mn(rn):.1f} | A/nginx median-of-ratios {md([a/n for a, n in zip(ra, rn)]):.2f} | B/nginx {md([b/n for b, n in zip(rb, rn)]):.2f}")
    return 0
run_then_clean_up(main)
