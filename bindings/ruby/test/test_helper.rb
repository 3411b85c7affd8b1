# frozen_string_literal: true

# Shared fixtures: a real `stack-auth serve` emulator (never a mock), its test-control API,
# and hard timeouts for anything that could hang.

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))

require "json"
require "net/http"
require "tmpdir"
require "fileutils"
require "timeout"
require "minitest/autorun"
require "stack_auth"

ROOT = File.expand_path("../../..", __dir__)
STACK_AUTH_BIN = ENV.fetch("STACK_AUTH_BIN", File.join(ROOT, "build/out/bin/stack-auth"))

# One emulator process: started with `stack-auth serve --addr 127.0.0.1:0`, stopped at exit.
class Emulator
  attr_reader :url, :workspace_crn, :access_key, :zerokms_url, :pid

  def initialize(*flags)
    @out_r, out_w = IO.pipe
    @log = File.open(File.join(Dir.tmpdir, "stack-auth-ruby-emulator-#{Process.pid}-#{object_id}.log"), "w")
    @pid = Process.spawn(STACK_AUTH_BIN, "serve", "--addr", "127.0.0.1:0", *flags,
                         out: out_w, err: @log, in: File::NULL)
    out_w.close
    # test.sh stops the emulators it finds here if this process dies without its teardown.
    if (pidfile = ENV["STACK_AUTH_TEST_PIDFILE"])
      File.open(pidfile, "a") { |f| f.puts(@pid) }
    end
    line = nil
    raise "the emulator did not start in 10 s" unless @out_r.wait_readable(10) && (line = @out_r.gets)

    info = JSON.parse(line)
    @url = info.fetch("url")
    @workspace_crn = info.fetch("workspaceCrn")
    @access_key = info.fetch("accessKey")
    @zerokms_url = info["zerokmsUrl"]
    @uri = URI(@url)
    @http = Net::HTTP.start(@uri.host, @uri.port, open_timeout: 5, read_timeout: 10)
    @lock = Mutex.new
  end

  def workspace_id
    workspace_crn.split(":").last
  end

  def region
    workspace_crn.split(":")[1]
  end

  def stop
    return unless @pid

    Process.kill("TERM", @pid)
    Timeout.timeout(10) { Process.wait(@pid) }
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  rescue Timeout::Error
    Process.kill("KILL", @pid)
    Process.wait(@pid)
  ensure
    @pid = nil
    @log&.close
  end

  # --- test-control API (JSON) ----------------------------------------------------------

  def control(method, path, body = nil)
    req = Net::HTTPGenericRequest.new(method, !body.nil?, true, "/_emulator/#{path}",
                                      "Content-Type" => "application/json")
    req.body = JSON.generate(body) unless body.nil?
    res = @lock.synchronize { @http.request(req) }
    raise "emulator #{method} #{path}: #{res.code} #{res.body}" unless res.code.start_with?("2")

    res.body.to_s.empty? ? {} : JSON.parse(res.body)
  end

  def requests(path = nil)
    all = control("GET", "requests").fetch("requests")
    path ? all.select { |r| r["path"] == path } : all
  end

  def clear_requests
    control("DELETE", "requests")
  end

  def fault(path:, status: 0, body: nil, delay_ms: 0, count: 1, reset: false)
    control("POST", "faults", { path: path, status: status, body: body, delayMs: delay_ms,
                                count: count, reset: reset }.compact)
  end

  def clear_faults
    control("DELETE", "faults")
  end

  def config(**cfg)
    control("POST", "config", cfg)
  end

  def usage_limit(code, workspace_id: self.workspace_id)
    control("POST", "usage-limit", { workspaceId: workspace_id, code: code })
  end

  def new_workspace
    control("POST", "workspaces", {})
  end

  def mint_token(**body)
    control("POST", "tokens", body)
  end

  def approve(user_code)
    control("POST", "approve", { userCode: user_code })
  end

  def reset!
    clear_faults
    clear_requests
    config(tokenTtlSecs: 900, autoApprove: false)
  end
end

# The emulators of this test process, started on first use and stopped at exit.
module Emulators
  @all = {}
  @lock = Mutex.new

  def self.[](name, *flags)
    @lock.synchronize { @all[name] ||= Emulator.new(*flags) }
  end

  def self.stop_all
    @all.each_value(&:stop)
    @all.clear
  end
end
Minitest.after_run { Emulators.stop_all }
at_exit { Emulators.stop_all }

# Base class of the suites: a fresh emulator state per test and the usual helpers.
class StackAuthTest < Minitest::Test
  # Names of the CS_* variables the library reads; each test starts without them.
  CS_VARS = %w[CS_CTS_HOST CS_CLIENT_ACCESS_KEY CS_WORKSPACE_CRN CS_CONFIG_PATH CS_TOKEN_STORE].freeze

  def emu
    Emulators[:main]
  end

  # The emulator of the tests that make the token service hang (delay faults): a request the
  # client gave up on still completes later and enters the request log, so those tests must not
  # share the emulator whose request counts other tests assert.
  def slow_emu
    Emulators[:slow].tap(&:reset!)
  end

  def setup
    CS_VARS.each { |k| ENV.delete(k) }
    emu.reset!
    @closables = []
    @tmp = Dir.mktmpdir("stack-auth-ruby-test")
  end

  def teardown
    @closables.each { |c| c.close if c.respond_to?(:close) }
    CS_VARS.each { |k| ENV.delete(k) }
    FileUtils.rm_rf(@tmp) if @tmp
  end

  # Registers something to close at teardown and returns it.
  def closing(obj)
    @closables << obj
    obj
  end

  def access_key_strategy(on: emu, **opts)
    closing(StackAuth::AccessKeyStrategy.new(workspace_crn: on.workspace_crn, access_key: on.access_key,
                                             base_url: on.url, **opts))
  end

  # An access-key strategy on slow_emu, whose token service answers after delay_ms.
  def slow_access_key_strategy(delay_ms, **opts)
    slow = slow_emu
    slow.fault(path: "/api/authorise", delay_ms: delay_ms)
    access_key_strategy(on: slow, **opts)
  end

  # Runs the block in a thread and fails if it takes longer than seconds (a hard timeout: a
  # call stuck inside the library cannot be interrupted, so the test must not wait on it).
  def within(seconds, what = "the block")
    result = nil
    error = nil
    thread = Thread.new do
      result = yield
    rescue Exception => e # rubocop:disable Lint/RescueException
      error = e
    end
    flunk("#{what} did not finish within #{seconds} s") unless thread.join(seconds)
    raise error if error

    result
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  def authorise_count
    emu.requests("/api/authorise").size
  end

  # The CallbackError of get_token on an OIDC strategy whose provider raises KeyError(message);
  # the token service is never asked.
  def failing_provider_error(message)
    oidc = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) do
      raise KeyError, message
    end)
    error = assert_raises(StackAuth::CallbackError) { oidc.get_token }
    assert_equal "KeyError", error.code
    assert_equal 0, authorise_count
    error
  end

  # A JWT-shaped OIDC token whose sub the emulator federates as "CS|<sub>".
  def oidc_jwt(sub)
    enc = ->(h) { [JSON.generate(h)].pack("m0").tr("+/", "-_").delete("=") }
    "#{enc.call(alg: 'none')}.#{enc.call(sub: sub, iss: 'https://ci.example')}.c2ln"
  end

  # Compares two bearer strings without ever printing them.
  def assert_same_secret(expected, actual, message = "the tokens differ")
    assert expected == actual, message
  end

  def refute_same_secret(expected, actual, message = "the tokens are the same")
    refute expected == actual, message
  end

  # A JWT-shaped bearer string (checked without printing it).
  def assert_jwt(token)
    assert token.is_a?(String) && token.match?(/\AeyJ[\w-]+\.[\w-]+\.[\w-]+\z/),
           "not a JWT (#{token.class}, #{token.to_s.size} chars)"
  end

  # Asserts that no string in texts contains a secret.
  def refute_secret(secret, *texts)
    texts.each_with_index { |t, i| refute t.to_s.include?(secret), "text #{i} contains the secret" }
  end
end
