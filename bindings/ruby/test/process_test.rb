# frozen_string_literal: true

require_relative "test_helper"
require "rbconfig"
require "digest"

# Process-level behaviour: fork, exit with calls in flight, leaks, and child Ruby processes.
class ProcessTest < StackAuthTest
  LIB = File.expand_path("../lib", __dir__)

  # Runs a Ruby script in a child process with a hard timeout; returns [status, stdout, stderr].
  def run_ruby(script, *args, timeout: 30, env: {})
    out_r, out_w = IO.pipe
    err_r, err_w = IO.pipe
    pid = Process.spawn(env, RbConfig.ruby, "-I", LIB, "-e", script, *args, out: out_w, err: err_w)
    out_w.close
    err_w.close
    readers = [out_r, err_r].map { |io| Thread.new { io.read } }
    started = monotonic
    status = wait_child(pid, timeout)
    out, err = readers.map(&:value)
    [status, out, err, monotonic - started]
  ensure
    [out_r, err_r].each { |io| io&.close unless io&.closed? }
  end

  def wait_child(pid, seconds)
    waiter = Thread.new { Process.wait2(pid)[1] }
    return waiter.value if waiter.join(seconds)

    Process.kill("KILL", pid)
    waiter.join
    flunk("child process #{pid} did not finish within #{seconds} s")
  end

  # docs/c-abi.md P9: after fork, every call in the child fails fast with Forked (the Go runtime does not
  # survive fork), and the parent goes on working.
  def test_fork_child_gets_forked_quickly_p9
    strategy = access_key_strategy
    token = strategy.get_token
    hook = closing(StackAuth::AuthStrategyFn.new { "hook.token.value" })
    fresh = access_key_strategy
    r, w = IO.pipe
    pid = Process.fork do
      r.close
      results = {}
      {
        "cached get_token" => -> { strategy.get_token },
        "fresh get_token" => -> { fresh.get_token(timeout: 5) },
        "hook get_token" => -> { hook.get_token(timeout: 5) },
        "token value" => -> { StackAuth::ServiceToken.from_handle(token.handle).token },
        "new strategy" => -> { StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key) },
        "new hook" => -> { StackAuth::AuthStrategyFn.new { "x" } },
        "store" => -> { StackAuth::InMemoryTokenStore.new },
        "device flow" => -> { StackAuth.begin_device_code_flow(emu.region, base_url: emu.url, profile_dir: @tmp) },
      }.each do |name, call|
        t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        begin
          call.call
          results[name] = ["no error", 0]
        rescue Exception => e # rubocop:disable Lint/RescueException
          results[name] = [e.class.name, ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) * 1000).round(1),
                           e.respond_to?(:code) ? e.code : nil]
        end
      end
      strategy.close # frees nothing in the child, and must not hang
      w.write(JSON.generate(results))
      w.close
      exit!(0)
    end
    w.close
    status = wait_child(pid, 10)
    results = JSON.parse(r.read)
    r.close
    assert status.success?, "the child exited cleanly (#{status.inspect})"
    assert_equal 8, results.size
    results.each do |name, (klass, ms, code)|
      assert_equal "StackAuth::Forked", klass, "#{name} in the child"
      assert_equal "FORKED", code
      assert_operator ms, :<, 100, "#{name} failed fast"
    end
    # The parent is unaffected.
    assert_same_secret token.token, strategy.get_token.token
    assert_equal "hook.token.value", hook.get_token.token
  end

  def test_library_location_and_load_errors
    script = <<~RUBY
      require "stack_auth"
      abort "loaded at require time" if StackAuth::Native.loaded?
      begin
        StackAuth::StaticTokenStrategy.new("a.b.c")
      rescue StackAuth::LibraryError => e
        puts "\#{e.class} \#{e.code} \#{e.message.include?("STACK_AUTH_LIB")}"
      end
    RUBY
    status, out, err = run_ruby(script, env: { "STACK_AUTH_LIB" => File.join(@tmp, "missing.so") })
    assert status.success?, err
    assert_equal "StackAuth::LibraryError LIBRARY_ERROR true\n", out

    built = File.join(ROOT, "build/out/lib/libstack_auth.so.1")
    status, out, err = run_ruby(<<~RUBY, env: { "STACK_AUTH_LIB" => built })
      require "stack_auth"
      puts StackAuth::StaticTokenStrategy.new("a.b.c").get_token.token
      puts StackAuth::Native.candidates.inspect
    RUBY
    assert status.success?, err
    assert_equal "a.b.c\n[#{built.inspect}]\n", out
  end

  # The gem may be required before fork and used in the child, as long as the library is
  # loaded after forking (Puma preload_app!, Unicorn).
  def test_require_before_fork_load_in_the_child
    script = <<~RUBY
      require "stack_auth"
      raise "loaded too early" if StackAuth::Native.loaded?
      pid = fork do
        s = StackAuth::AccessKeyStrategy.new(workspace_crn: ARGV[1], access_key: ARGV[2], base_url: ARGV[0])
        puts s.get_token.subject
        $stdout.flush
        exit!(0)
      end
      Process.wait(pid)
      exit($?.exitstatus)
    RUBY
    status, out, err = run_ruby(script, emu.url, emu.workspace_crn, emu.access_key)
    assert status.success?, err
    assert_match(/\ACS\|CSAK\w+\n\z/, out)
  end

  # Ruby waits for every thread before it exits, and a call inside the library cannot be
  # interrupted; the gem closes open strategies at exit, so waiting calls end at once.
  def test_exit_with_calls_in_flight_is_prompt
    script = <<~RUBY
      require "stack_auth"
      require "net/http"
      require "json"
      url, crn, key = ARGV
      s = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
      s.get_token
      # From now on the token service hangs for 30 s.
      Net::HTTP.post(URI(url + "_emulator/faults"), JSON.generate(path: "/api/authorise", delayMs: 30_000, count: 1),
                     "Content-Type" => "application/json")
      never = StackAuth::AuthStrategyFn.new(timeout: 60) { sleep }
      slow = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
      entered = Thread::Queue.new
      Thread.new { entered << 1; never.get_token(timeout: 60) }
      Thread.new { entered << 2; slow.get_token(timeout: 60) }
      2.times { entered.pop }
      at_exit { puts "app at_exit ran" }
      puts "exiting"
    RUBY
    slow = slow_emu
    status, out, err, elapsed = run_ruby(script, slow.url, slow.workspace_crn, slow.access_key, timeout: 40)
    assert status.success?, "exit status #{status.inspect}: #{err}"
    assert_equal "exiting\napp at_exit ran\n", out
    assert_operator elapsed, :<, 10, "the process did not wait for the calls' timeouts"
  end

  def test_exit_without_closing_anything
    script = <<~RUBY
      require "stack_auth"
      url, crn, key = ARGV
      a = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
      a.get_token.token
      h = StackAuth::AuthStrategyFn.new { "a.b.c" }
      h.get_token
      st = StackAuth::TokenStoreFn.new(load: -> { nil }, save: ->(j) { })
      StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url, store: st).get_token
      f = StackAuth.begin_device_code_flow(crn.split(":")[1], base_url: url, profile_dir: ARGV[3])
      puts "done"
    RUBY
    status, out, err, elapsed = run_ruby(script, emu.url, emu.workspace_crn, emu.access_key, @tmp)
    assert status.success?, err
    assert_equal "done\n", out
    assert_operator elapsed, :<, 10
  end

  # Every handle is released once its objects are closed or collected (docs/c-abi.md P19). Objects with
  # hooks are closed explicitly: a hook's closure usually captures the object itself, and the
  # registry keeps hooks alive until the library lets go of them. The store's save is slow, so
  # its hooks are still running when they are closed: they are released when the save ends,
  # on a library thread that needs the GVL, which the wait below gives up.
  def test_no_live_library_objects_after_closing_and_gc
    script = <<~RUBY
      require "stack_auth"

      # Objects without hooks, left to the GC (no closure captures them).
      def garbage(url, crn, key, dir)
        store = StackAuth::InMemoryTokenStore.new
        s = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url, store: store)
        10.times { s.get_token.token }
        s.try_get_token.subject
        s.invalidate(s.get_token)
        s.get_token
        StackAuth.open_store("memory:")
        StackAuth.begin_device_code_flow(crn.split(":")[1], base_url: url, profile_dir: dir).user_code
        nil
      end

      url, crn, key, dir = ARGV
      Thread.new do
        garbage(url, crn, key, dir)
        q = Thread::Queue.new
        s = StackAuth::StaticTokenStrategy.new("a.b.c")
        s.get_token_async { |t, e| q << t.token }
        q.pop
        h = StackAuth::AuthStrategyFn.new { "a.b.c" }
        h.get_token.token
        fs = StackAuth::TokenStoreFn.new(load: -> { nil }, save: ->(_j) { sleep 0.3 })
        o = StackAuth::OidcFederationStrategy.new(workspace_crn: crn, base_url: url, store: fs) { "eyJhIjoxfQ.eyJzdWIiOiJ4In0.c2ln" }
        o.get_token.subject
        [s, h, o, fs].each(&:close)
      end.join
      StackAuth.flush(10) or abort "the slow save did not end"
      live = nil
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
      loop do
        GC.start(full_mark: true, immediate_sweep: true)
        live = StackAuth.debug_live_objects
        break if live.zero? && StackAuth::Callbacks.live_count.zero?
        break if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        StackAuth::Callbacks.wait_for_release(0.05)
      end
      puts "live=\#{live} hooks=\#{StackAuth::Callbacks.live_count}"
    RUBY
    status, out, err = run_ruby(script, emu.url, emu.workspace_crn, emu.access_key, @tmp)
    assert status.success?, err
    assert_equal "live=0 hooks=0\n", out
  end

  # docs/architecture.md D1: the server rotates the refresh token at once and answers 700 ms later; the
  # program gives up after 300 ms, drops the strategy (close or the GC) and exits. The exit
  # hook waits for the answer and saves it, so the next run is not refused with INVALID_GRANT.
  %w[close gc].each do |drop|
    define_method("test_exit_mid_refresh_saves_the_rotated_refresh_token_#{drop}") do
      auto = Emulators[:auto, "--auto-approve", "--poll-interval", "0s"].tap(&:reset!)
      auto.config(autoApprove: true)
      profile = File.join(@tmp, "profile")
      closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: profile))
        .poll_for_token(timeout: 10)
      auth = Dir.glob(File.join(profile, "**", "auth.json")).first
      session = JSON.parse(File.read(auth))
      spent = Digest::SHA256.hexdigest(session["refresh_token"]) # compared by digest, never printed
      session["expires_at"] = Time.now.to_i - 60
      File.write(auth, JSON.generate(session))
      auto.clear_requests
      auto.control("POST", "faults", { path: "/oauth/token", delayAfterMs: 700, count: 1 })
      script = <<~RUBY
        require "stack_auth"
        url, profile, drop = ARGV
        s = StackAuth::DeviceSessionStrategy.from_profile(profile_dir: profile, base_url: url)
        begin
          s.get_token(timeout: 0.3)
          puts "got a token"
        rescue StackAuth::Timeout
          puts "gave up"
        end
        if drop == "close"
          s.close
        else
          s = nil
          GC.start(full_mark: true, immediate_sweep: true)
        end
      RUBY
      status, out, err = run_ruby(script, auto.url, profile, drop)
      assert status.success?, err
      assert_equal "gave up\n", out
      saved = Digest::SHA256.hexdigest(JSON.parse(File.read(auth))["refresh_token"])
      refute_equal spent, saved, "the rotated refresh token was saved"
      assert_equal 1, auto.requests("/oauth/token").size
      StackAuth::DeviceSessionStrategy.from_profile(profile_dir: profile, base_url: auto.url) do |s|
        s.get_token(timeout: 10) # no INVALID_GRANT: the next run starts from the saved session
      end
    end
  end
end
