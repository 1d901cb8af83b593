#!/usr/bin/env python3
"""Gateway cost side by side, in one run, on loopback. An nginx instance plays the upstream
(a canned ~1 KB OpenAI chat completion with usage, or a canned SSE stream); the same wrk load
(POST, realistic chat body) goes to: the upstream directly, a bare nginx reverse proxy (the
limit a proxy written in C reaches), `ai-proxy serve`, and optionally LiteLLM's proxy.
Reports per proxy: req/s at 32 connections, the proxy's CPU µs per request (utime+stime of its
process group / requests), and p50/p99 latency from a closed loop at 1 connection (service time,
no queueing).
usage: gateway_cpu.py AIP [--pingora EXAMPLE] [--litellm VENV_PYTHON] [--seconds S] [--stream N]   (AIP: path to
the ai-proxy binary; extra `serve` flags in the AIP_ARGS environment variable; EXAMPLE: the built
`pingora_gateway` example of ai-proxy-pingora, served with the same config, extra flags in PINGORA_ARGS).
Copied from ../shared/bench/gateway_cpu.py with the Pingora row added. Needs nginx and wrk (Debian: nginx-light,
wrk). Prints a TSV table and last line: `cpu ratio ai-proxy/nginx X.XX`. Run it on a quiet machine,
three times; CPU per request is steadier than req/s on shared cores."""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

AIP = sys.argv[1]
LITELLM = sys.argv[sys.argv.index("--litellm") + 1] if "--litellm" in sys.argv else None
PINGORA = sys.argv[sys.argv.index("--pingora") + 1] if "--pingora" in sys.argv else None
SECS = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8
# --stream N: the upstream answers every request with a recorded-shape SSE stream of N chunk events
STREAM = int(sys.argv[sys.argv.index("--stream") + 1]) if "--stream" in sys.argv else 0
TMP = tempfile.mkdtemp(prefix="aip-gwcpu-")
PROCS = []

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def wait_port(port, t=20):
    end = time.time() + t
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return True
        except OSError: time.sleep(0.1)
    return False

CHAT = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Rayleigh scattering: shorter wavelengths scatter more. " * 12}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 512, "completion_tokens": 160, "total_tokens": 672}})
CLIENT_KEY = "sk-8f3a9c0d2b7e4f61a5c8d9e0f1a2b3c4d5e6f708192a3b4c"
BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Why is the sky blue? Explain with the physics, briefly. " * 8}], "temperature": 0.2,
    **({"stream": True} if STREAM else {})})

def sse_body(n):
    ev = []
    for i in range(n):
        ev.append("data: " + json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_1", "choices": [{"index": 0,
            "delta": {"content": " token%d" % i}, "logprobs": None, "finish_reason": None}], "usage": None},
            separators=(",", ":")) + "\n\n")
    ev.append("data: " + json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-2024-08-06", "choices": [], "usage": {"prompt_tokens": 512, "completion_tokens": n,
        "total_tokens": 512 + n}}, separators=(",", ":")) + "\n\ndata: [DONE]\n\n")
    return "".join(ev)

def nginx_conf(name, port, body):
    root = os.path.join(TMP, name); os.makedirs(root, exist_ok=True)
    conf = f"""worker_processes 1; daemon off; pid {root}/pid; error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {root}; proxy_temp_path {root}; fastcgi_temp_path {root};
  uwsgi_temp_path {root}; scgi_temp_path {root}; keepalive_requests 1000000;
  {body.replace('PORT', str(port))} }}"""
    p = os.path.join(root, "nginx.conf"); open(p, "w").write(conf); return p

def start(cmd, name, env=None):
    log = open(os.path.join(TMP, name + ".log"), "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    PROCS.append(p); return p

def cpu_of(pid):
    """utime+stime (s) of pid and its children threads/processes (by process group)."""
    tot = 0.0; tck = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try:
            st = open(f"/proc/{d}/stat").read(); f = st[st.rindex(")") + 2:].split()
            if int(f[2]) == os.getpgid(pid):  # pgrp
                tot += (int(f[11]) + int(f[12])) / tck
        except (OSError, ValueError, IndexError): pass
    return tot

def wrk(port, path, conns, secs):
    lua = os.path.join(TMP, "post.lua")
    open(lua, "w").write('wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\n'
                         f'wrk.headers["Authorization"]="Bearer {CLIENT_KEY}"\nwrk.body=[[' + BODY + ']]\n')
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", "-s", lua,
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=secs + 30).stdout
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    def lat(q):
        m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", out)
        v, u = float(m.group(1)), m.group(2); return v * {"us": 1, "ms": 1e3, "s": 1e6}[u]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return reqs, lat(50), lat(99), int(non2xx.group(1)) if non2xx else 0

def measure(name, port, path, pid):
    res = {}
    # service time: 1 connection, closed loop
    r1, p50, p99, bad1 = wrk(port, path, 1, max(3, SECS // 2))
    # throughput + CPU: 32 connections
    c0 = cpu_of(pid) if pid else 0.0; t0 = time.time()
    r, _, _, bad = wrk(port, path, 32, SECS)
    dt = time.time() - t0; c1 = cpu_of(pid) if pid else 0.0
    return {"name": name, "rps": r / SECS, "cpu_us": (c1 - c0) / r * 1e6 if pid else 0.0,
            "p50_1c": p50, "p99_1c": p99, "errors": bad + bad1}

def chat_upstream_conf(up):
    """The nginx upstream on port `up` answering every request with the canned completion CHAT."""
    return nginx_conf("upstream", up, """server { listen 127.0.0.1:PORT; location / {
        default_type application/json; return 200 'CHAT'; } }""".replace("CHAT", CHAT))

def start_upstream_and_proxy(up, ng, up_conf):
    """Starts the nginx upstream (`up_conf`, port `up`) and the bare nginx proxy on port `ng` in front
    of it; returns the proxy's process and the ai-proxy config that reaches the same upstream."""
    start(["nginx", "-c", up_conf], "upstream")
    ng_conf = nginx_conf("proxy", ng, f"""upstream up {{ server 127.0.0.1:{up}; keepalive 64; }}
      server {{ listen 127.0.0.1:PORT; location / {{ proxy_pass http://up; proxy_http_version 1.1;
        proxy_set_header Connection ""; proxy_set_header Authorization "Bearer sk-gateway"; }} }}""")
    pn = start(["nginx", "-c", ng_conf], "nginx-proxy")
    cfg = {"provider": "openai-compatible", "auth": {"header": {"Authorization": "Bearer sk-gateway"}},
           "options": {"model": "gpt-4o"}, "override": {"endpoint": f"http://127.0.0.1:{up}/v1/chat/completions"}}
    return pn, cfg

def run_then_clean_up(main):
    """Runs `main`, then stops every started process and removes TMP; exits with main's code."""
    try:
        rc = main()
    finally:
        for p in PROCS:
            try: os.killpg(p.pid, signal.SIGTERM)
            except OSError: pass
        time.sleep(0.5)
        for p in PROCS:
            try: os.killpg(p.pid, signal.SIGKILL)
            except OSError: pass
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)

def main():
    up = free_port(); ng = free_port(); gw = free_port()
    chat_path = os.path.join(TMP, "chat.json"); open(chat_path, "w").write(CHAT)
    if STREAM:
        # nginx's static module refuses POST and a config parameter holds ≤ 4 KB: the stream is
        # split into variables and returned whole.
        ev = sse_body(STREAM); parts = [ev[i:i + 3000] for i in range(0, len(ev), 3000)]
        sets = " ".join(f"set $p{i} '{p}';" for i, p in enumerate(parts))
        ret = "".join(f"$p{i}" for i in range(len(parts)))
        up_conf = nginx_conf("upstream", up, "server { listen 127.0.0.1:PORT; location / { "
                             "default_type text/event-stream; " + sets + ' return 200 "' + ret + '"; } }')
    else:
        up_conf = chat_upstream_conf(up)
    pn, cfg = start_upstream_and_proxy(up, ng, up_conf)
    cfgp = os.path.join(TMP, "gw.json"); json.dump(cfg, open(cfgp, "w"))
    pg = start([AIP, "serve", "--config", cfgp, "--listen", f"127.0.0.1:{gw}", "--log-format", "json"] + os.environ.get("AIP_ARGS", "").split(), "ai-proxy")
    ports = [up, ng, gw]
    if PINGORA:
        pp = free_port(); ports.append(pp)
        ppg = start([PINGORA, "--config", cfgp, "--listen", f"127.0.0.1:{pp}", "--json"] + os.environ.get("PINGORA_ARGS", "").split(), "pingora")
    for p in ports:
        if not wait_port(p): print(f"port {p} never opened"); return 1
    # the upstream must answer POST with the canned body
    rows = [measure("direct", up, "/v1/chat/completions", None),
            measure("nginx-proxy", ng, "/v1/chat/completions", pn.pid),
            measure("ai-proxy", gw, "/v1/chat/completions", pg.pid)]
    if PINGORA:
        rows.append(measure("ai-proxy-pingora", pp, "/v1/chat/completions", ppg.pid))
    if LITELLM:
        lp = free_port()
        lcfg = os.path.join(TMP, "litellm.yaml")
        open(lcfg, "w").write(f"""model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "http://127.0.0.1:{up}/v1", api_key: sk-gateway}}
litellm_settings: {{telemetry: false}}
""")
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR", LITELLM_MASTER_KEY=CLIENT_KEY)
        pl = start([os.path.join(os.path.dirname(LITELLM), "litellm"), "--config", lcfg, "--host", "127.0.0.1", "--port", str(lp), "--num_workers", "1"], "litellm", env)
        if wait_port(lp, 120):
            time.sleep(2); rows.append(measure("litellm-proxy", lp, "/v1/chat/completions", pl.pid))
        else:
            print("litellm proxy did not start:", open(os.path.join(TMP, "litellm.log")).read()[-300:])
    print("proxy\treq/s(32c)\tcpu µs/req\tp50 µs(1c)\tp99 µs(1c)\terrors")
    for r in rows:
        print(f"{r['name']}\t{r['rps']:.0f}\t{r['cpu_us']:.1f}\t{r['p50_1c']:.0f}\t{r['p99_1c']:.0f}\t{r['errors']}")
    d = rows[0]; n = rows[1]; a = rows[2]
    print(f"added p50 (1c): nginx {n['p50_1c']-d['p50_1c']:.0f} µs, ai-proxy {a['p50_1c']-d['p50_1c']:.0f} µs"
          + "".join(f", {r['name']} {r['p50_1c']-d['p50_1c']:.0f} µs" for r in rows[3:]))
    if any(r["errors"] for r in rows if r["name"] != "litellm-proxy"): print("errors seen"); return 1
    if STREAM:
        print(f"per streamed event: nginx {n['cpu_us']/STREAM*1000:.0f} ns, ai-proxy {a['cpu_us']/STREAM*1000:.0f} ns"
              + "".join(f", {r['name']} {r['cpu_us']/STREAM*1000:.0f} ns" for r in rows[3:]) + " CPU")
    print(f"cpu ratio ai-proxy/nginx {a['cpu_us']/n['cpu_us']:.2f}")
    for r in rows[3:]:
        if r["name"] == "ai-proxy-pingora":
            print(f"cpu ratio ai-proxy-pingora/nginx {r['cpu_us']/n['cpu_us']:.2f}, ai-proxy-pingora/ai-proxy {r['cpu_us']/a['cpu_us']:.2f}")
    return 0

run_then_clean_up(main)
