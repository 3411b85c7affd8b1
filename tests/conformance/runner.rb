# frozen_string_literal: true

# Conformance runner for the Ruby binding (StackAuth).
#
# Runs every scenario of scenarios.json against ONE emulator, resetting it between scenarios,
# prints `ok <name>` / `FAIL <name>: <why>` per scenario and `N passed, M failed`, writes one
# JSON observation per scenario to $SA_CONFORMANCE_OUT (run.sh compares the languages' files)
# and exits non-zero on any failure.
#
# Environment: SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY (required), SA_CONFORMANCE_SCENARIOS,
# SA_CONFORMANCE_OUT, SA_CONFORMANCE_ONLY (comma-separated names). Uses the gem from the
# checkout (bindings/ruby/lib, with the library `make ruby` copies into it) unless
# STACK_AUTH_RUBY_LIB names another lib directory.

$LOAD_PATH.unshift(ENV["STACK_AUTH_RUBY_LIB"] || File.expand_path("../../bindings/ruby/lib", __dir__))
require "json"
require "net/http"
require "uri"
require "tmpdir"
require "fileutils"
require "stack_auth"

LANG = "ruby"
CS_VARS = %w[CS_CLIENT_ACCESS_KEY CS_WORKSPACE_CRN CS_CTS_HOST CS_CONFIG_PATH CS_TOKEN_STORE].freeze
SETTLE_SECS = 5.0 # see Runner#settle_requests

# The emulator's control API.
class Emulator
  def initialize(url)
    @uri = URI(url)
  end

  def call(method, path, body = nil)
    klass = { "GET" => Net::HTTP::Get, "POST" => Net::HTTP::Post, "DELETE" => Net::HTTP::Delete }.fetch(method)
    req = klass.new(path, "Content-Type" => "application/json")
    req.body = JSON.generate(body) unless body.nil?
    res = Net::HTTP.start(@uri.host, @uri.port, open_timeout: 10, read_timeout: 10) { |h| h.request(req) }
    doc = res.body.to_s.strip.empty? ? nil : (JSON.parse(res.body) rescue res.body)
    [res.code.to_i, doc]
  end

  def must(method, path, body = nil)
    status, doc = call(method, path, body)
    raise "#{method} #{path}: HTTP #{status}: #{doc}" unless status / 100 == 2

    doc
  end

  def request_counts
    must("GET", "/_emulator/requests")["requests"].each_with_object({}) do |r, h|
      h[r["path"]] = (h[r["path"]] || 0) + 1
    end
  end
end

# $NAME placeholders in input strings (longest name first: $KEY_ID before $KEY).
def substitute(value, ph)
  case value
  when String
    ph.keys.sort_by { |n| -n.length }.reduce(value) { |v, n| v.gsub("$#{n}", ph[n]) }
  when Hash then value.transform_values { |v| substitute(v, ph) }
  when Array then value.map { |v| substitute(v, ph) }
  else value
  end
end

# Observed strings back to placeholders (longest value first).
def normalise(value, ph)
  case value
  when String
    ph.keys.sort_by { |n| -ph[n].length }.reduce(value) { |v, n| ph[n].empty? ? v : v.gsub(ph[n], "$#{n}") }
  when Hash then value.transform_values { |v| normalise(v, ph) }
  when Array then value.map { |v| normalise(v, ph) }
  else value
  end
end

def normalise_message(msg, ph)
  normalise(msg, ph).gsub(/127\.0\.0\.1:\d+/, "127.0.0.1:PORT")
end

def error_obs(e)
  { "code" => e.code, "help" => !(e.help.nil? || e.help.empty?), "url" => e.url, "retryable" => e.retryable?,
    "payload" => e.payload.to_h,
    "message" => e.message }
end

def token_obs(tok)
  expires_in = tok.expires_at.to_f - Time.now.to_f
  { "workspaceId" => tok.workspace_id, "subject" => tok.subject, "issuer" => tok.issuer,
    "services" => tok.services.to_h, "expiresInMin" => (expires_in / 60 + 0.5).floor }
end

def build_strategy(sc, inputs, options, store)
  timeout = options.key?("timeoutMs") ? options["timeoutMs"] / 1000.0 : nil
  case sc["strategy"]
  when "access_key"
    StackAuth::AccessKeyStrategy.new(workspace_crn: inputs["workspaceCrn"], access_key: inputs["accessKey"],
                                     store: store, base_url: inputs["baseUrl"], timeout: timeout)
  when "auto"
    StackAuth::AutoStrategy.detect(access_key: inputs["accessKey"], workspace_crn: inputs["workspaceCrn"], store: store,
                                   base_url: inputs["baseUrl"], profile_dir: inputs["profileDir"], timeout: timeout)
  when "device_session"
    raise ArgumentError, "the Ruby DeviceSessionStrategy takes no store" if store

    StackAuth::DeviceSessionStrategy.from_profile(profile_dir: inputs["profileDir"], base_url: inputs["baseUrl"],
                                                  timeout: timeout)
  when "static"
    StackAuth::StaticTokenStrategy.new(inputs["token"])
  else
    raise ArgumentError, "unknown strategy #{sc['strategy'].inspect}"
  end
end

# Runs one scenario at a time against the emulator.
class Runner
  def initialize(emu, ph, defaults, base_config)
    @emu = emu
    @ph = ph
    @defaults = defaults
    @base_config = base_config
  end

  def reset
    @emu.must("DELETE", "/_emulator/faults")
    @emu.must("DELETE", "/_emulator/requests")
    [@ph["WS"], @ph["OTHER_WS"]].each do |ws|
      @emu.must("POST", "/_emulator/usage-limit", { "workspaceId" => ws, "code" => "" })
    end
    @emu.must("POST", "/_emulator/config", @base_config)
  end

  def setup(setup, ph)
    @emu.must("POST", "/_emulator/config", setup["config"]) if setup.key?("config")
    @emu.must("POST", "/_emulator/usage-limit", substitute(setup["usageLimit"], ph)) if setup.key?("usageLimit")
    (setup["faults"] || []).each { |f| @emu.must("POST", "/_emulator/faults", f) }
    return unless setup.key?("mintToken")

    ph["TOKEN"] = @emu.must("POST", "/_emulator/tokens", substitute(setup["mintToken"], ph))["accessToken"]
  end

  # A device-code login with the binding; the emulator approves it in between.
  def login(login)
    flow = StackAuth.begin_device_code_flow(login["region"], base_url: login["baseUrl"],
                                            profile_dir: login["profileDir"], timeout: 10)
    begin
      @emu.must("POST", "/_emulator/approve", { "userCode" => flow.user_code })
      flow.poll_for_token(timeout: 10)
    ensure
      flow.close
    end
  end

  # The emulator logs a request when its handler returns, which for a connection reset or a
  # request the client abandoned is after the client saw the failure. So when the log has
  # fewer entries than expected, read it again (bounded); more never shrinks.
  def settle_requests(expected)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + SETTLE_SECS
    loop do
      counts = @emu.request_counts
      return counts if expected.nil? || counts == expected || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      return counts if counts.any? { |p, n| n > (expected[p] || 0) }

      sleep 0.02
    end
  end

  def opt(sc, key, fallback)
    sc.fetch(key, @defaults.fetch(key, fallback))
  end

  def run(sc)
    ph = @ph.dup
    empty_dir = Dir.mktmpdir("sa-conformance-")
    ph["EMPTY_DIR"] = empty_dir
    reset
    setup(sc["setup"] || {}, ph)
    inputs = substitute(sc["inputs"] || {}, ph)
    options = sc["options"] || {}
    env = substitute(sc["env"] || {}, ph)
    calls = opt(sc, "calls", 1)
    concurrent = opt(sc, "concurrent", 0)
    concurrent_api = opt(sc, "concurrentApi", "blocking")
    n_strategies = opt(sc, "strategies", 1)
    call_timeout = sc["callTimeoutMs"]
    wait_before = opt(sc, "waitBeforeMs", 0)
    wait_ms = opt(sc, "waitBetweenMs", 0)
    invalidate = (sc["invalidate"] || []).to_h { |i| [i["afterCall"], i["tokenOfCall"]] }

    obs = { "lang" => LANG, "name" => sc["name"], "login" => nil, "create" => nil, "concurrent" => nil,
            "calls" => [], "invalidated" => invalidate.empty? ? nil : [], "token" => nil, "error" => nil,
            "distinctTokens" => 0, "requests" => {}, "leaks" => [] }
    secrets = [ph["KEY"].split(".", 2).last, ph["OTHER_KEY"].split(".", 2).last, ph["TOKEN"]].compact
    tokens = []
    surfaces = []
    note_error = lambda do |where, e|
      surfaces.push(["#{where} message", e.message], ["#{where} inspect(error)", e.inspect],
                    ["#{where} to_s(error)", e.to_s], ["#{where} full_message", e.full_message(highlight: false)])
      obs["error"] ||= error_obs(e)
    end
    note_token = lambda do |where, tok|
      tokens << tok.token
      surfaces.push(["#{where} inspect(token)", tok.inspect], ["#{where} to_s(token)", tok.to_s],
                    ["#{where} to_h(token)", tok.to_h.to_s])
      obs["token"] ||= token_obs(tok)
    end
    outcome = lambda do |r, where|
      case r
      when StackAuth::ServiceToken
        note_token.call(where, r)
        "ok"
      when StackAuth::Error
        note_error.call(where, r)
        r.code
      else
        "HUNG"
      end
    end

    CS_VARS.each { |k| ENV.delete(k) }
    env.each { |k, v| ENV[k] = v } # after the library was loaded: the live-environment rule
    strategies = []
    store = nil
    begin
      if sc.key?("login")
        begin
          login(substitute(sc["login"], ph))
          obs["login"] = "ok"
        rescue StackAuth::Error => e
          obs["login"] = e.code
          note_error.call("login", e)
        end
      end
      if sc.key?("store")
        url = substitute(sc["store"], ph)
        store = url == "memory" ? StackAuth::InMemoryTokenStore.new : StackAuth.open_store(url)
      end
      begin
        n_strategies.times { strategies << build_strategy(sc, inputs, options, store) }
        obs["create"] = "ok"
        surfaces << ["inspect(strategy)", strategies.first.inspect]
      rescue StackAuth::Error => e
        obs["create"] = e.code
        note_error.call("create", e)
      rescue StandardError => e # not the gem's error type: recorded as HOST:<class>
        obs["create"] = "HOST:#{e.class}"
        surfaces << ["create message", e.message]
        obs["error"] ||= { "code" => obs["create"], "help" => false, "url" => nil, "retryable" => false, "payload" => {},
                          "message" => e.message }
      end
      if obs["create"] == "ok"
        obs["concurrent"] = concurrent_calls(strategies.first, concurrent, concurrent_api, outcome) if concurrent.positive?
        sleep(wait_before / 1000.0) if wait_before.positive? # real time for a token to expire
        results = []
        strategies.each do |strategy|
          calls.times do |i|
            sleep(wait_ms / 1000.0) if i.positive? && wait_ms.positive? # real time for a token to expire
            r = begin
              call_timeout.nil? ? strategy.get_token : strategy.get_token(timeout: call_timeout / 1000.0)
            rescue StackAuth::Error => e
              e
            end
            results << r
            obs["calls"] << outcome.call(r, "call")
            idx = results.size - 1
            obs["invalidated"] << strategy.invalidate(results[invalidate[idx]]) if invalidate.key?(idx)
          end
        end
      end
    ensure
      strategies.each(&:close)
      store&.close
      CS_VARS.each { |k| ENV.delete(k) }
      FileUtils.rm_rf(empty_dir)
    end

    obs["distinctTokens"] = tokens.uniq.size
    secrets += tokens
    surfaces.each { |where, text| obs["leaks"] << where if secrets.any? { |s| text.include?(s) } }
    obs["requests"] = settle_requests((sc["expect"] || {})["requests"])
    msg = obs["error"] && obs["error"]["message"]
    obs = normalise(obs, ph)
    obs["error"]["message"] = normalise_message(msg, ph) if msg
    obs
  end

  # n first calls at once: threads on get_token behind a gate, or (api "async")
  # get_token_async with its block answering into a queue.
  def concurrent_calls(strategy, n, api, outcome)
    results = []
    if api == "async"
      q = Queue.new
      n.times { strategy.get_token_async { |tok, err| q << (tok || err) } }
      n.times { results << q.pop }
    else
      ready = Queue.new
      gate = Queue.new
      threads = Array.new(n) do
        Thread.new do
          ready << 1
          gate.pop # every thread starts its call at once
          begin
            strategy.get_token
          rescue StackAuth::Error => e
            e
          end
        end
      end
      n.times { ready.pop }
      n.times { gate << 1 }
      threads.each { |t| results << (t.join(60) ? t.value : :hung) }
    end
    counts = {}
    results.each do |r|
      k = outcome.call(r, "concurrent")
      counts[k] = (counts[k] || 0) + 1
    end
    counts
  end
end

# Every key of expect must equal the observation's; "token" and "error" are compared key by
# key (a subset); leaks must always be empty.
def check(expect, obs)
  why = []
  expect.each do |k, want|
    got = obs[k]
    if %w[token error].include?(k) && want.is_a?(Hash) && got.is_a?(Hash)
      want.each do |kk, w|
        why << "#{k}.#{kk}: want #{JSON.generate(w)}, got #{JSON.generate(got[kk])}" unless got[kk] == w
      end
    elsif got != want
      why << "#{k}: want #{JSON.generate(want)}, got #{JSON.generate(got)}"
    end
  end
  why << "secret visible in: #{obs['leaks'].join(', ')}" unless obs["leaks"].empty?
  why
end

def sort_keys(v)
  case v
  when Hash then v.keys.sort.to_h { |k| [k, sort_keys(v[k])] }
  when Array then v.map { |x| sort_keys(x) }
  else v
  end
end

def main
  url, crn, key = ENV.values_at("SA_EMU_URL", "SA_EMU_CRN", "SA_EMU_KEY")
  if [url, crn, key].any? { |v| v.nil? || v.empty? }
    warn "runner.rb: set SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY"
    return 2
  end
  path = ENV["SA_CONFORMANCE_SCENARIOS"].to_s
  path = File.join(__dir__, "scenarios.json") if path.empty?
  doc = JSON.parse(File.read(path))
  only = ENV["SA_CONFORMANCE_ONLY"].to_s.split(",").reject(&:empty?)
  out_path = ENV["SA_CONFORMANCE_OUT"].to_s

  # Load the library first, so that every CS_* variable below is set after it was loaded.
  warn "# #{LANG}: #{StackAuth.build_info}"
  emu = Emulator.new(url)
  state = emu.must("GET", "/_emulator/state")
  other = emu.must("POST", "/_emulator/workspaces", {})
  ph = {
    "URL" => url, "ZEROKMS_URL" => state["zerokmsUrl"], "CRN" => crn, "WS" => crn.split(":").last,
    "KEY" => key, "KEY_ID" => key.split(".", 2).first,
    "OTHER_CRN" => other["workspaceCrn"], "OTHER_WS" => other["workspaceId"],
    "OTHER_KEY" => other["accessKey"], "OTHER_KEY_ID" => other["accessKey"].split(".", 2).first,
    "REGION" => crn.split(":")[1]
  }
  runner = Runner.new(emu, ph, doc["defaults"] || {}, emu.must("GET", "/_emulator/config"))

  passed = 0
  failed = 0
  out = out_path.empty? ? nil : File.open(out_path, "w")
  begin
    doc["scenarios"].each do |sc|
      next if !only.empty? && !only.include?(sc["name"])

      begin
        obs = runner.run(sc)
        why = check(sc["expect"] || {}, obs)
      rescue StandardError => e # a runner or emulator problem: the scenario fails
        obs = { "lang" => LANG, "name" => sc["name"], "crashed" => "#{e.class}: #{e.message}" }
        why = [obs["crashed"]]
      end
      if out
        out.puts(JSON.generate(sort_keys(obs)))
        out.flush
      end
      if why.empty?
        passed += 1
        puts "ok #{sc['name']}"
      else
        failed += 1
        puts "FAIL #{sc['name']}: #{why.join('; ')}"
      end
      $stdout.flush
    end
  ensure
    out&.close
    runner.reset
  end
  puts "#{passed} passed, #{failed} failed"
  failed.zero? ? 0 : 1
end

exit(main)
