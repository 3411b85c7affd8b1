# frozen_string_literal: true

# Conformance testee for the Ruby gem: performs conformance.py's JSON requests (one a line on
# stdin) with StackAuth and answers one JSON line each on stdout. No checks here.
$LOAD_PATH.unshift(ENV["STACK_AUTH_RUBY_LIB"] || File.expand_path("../../bindings/ruby/lib", __dir__))
require "json"
require "stack_auth"

# The library's objects of the current scenario, freed by "close".
class Testee
  def initialize
    @strategies = []
    @tokens = []
    @store = nil
    @flow = nil
  end

  def error(err)
    { "error" => { "code" => err.code, "help" => err.help, "url" => err.url, "retryable" => err.retryable?,
                   "payload" => err.payload.to_h, "message" => err.message,
                   "strings" => [["message", err.message], ["inspect(error)", err.inspect], ["to_s(error)", err.to_s],
                                 ["full_message", err.full_message(highlight: false)]] } }
  end

  def token(tok)
    @tokens << tok
    { "token" => { "value" => tok.token, "workspaceId" => tok.workspace_id, "subject" => tok.subject,
                   "issuer" => tok.issuer, "services" => tok.services.to_h, "expiresAt" => tok.expires_at.to_f,
                   "ref" => @tokens.size - 1,
                   "strings" => [["inspect(token)", tok.inspect], ["to_s(token)", tok.to_s],
                                 ["to_h(token)", tok.to_h.to_s]] } }
  end

  def answer
    token(yield)
  rescue StackAuth::Error => e
    error(e)
  end

  def build(kind, args, opts, with_store)
    timeout = opts.key?("timeoutMs") ? opts["timeoutMs"] / 1000.0 : nil
    store = with_store ? @store : nil
    case kind
    when "access_key"
      StackAuth::AccessKeyStrategy.new(workspace_crn: args["workspaceCrn"], access_key: args["accessKey"],
                                       store: store, base_url: opts["baseUrl"], timeout: timeout)
    when "auto"
      StackAuth::AutoStrategy.detect(access_key: opts["accessKey"], workspace_crn: opts["workspaceCrn"],
                                     store: store, base_url: opts["baseUrl"], profile_dir: opts["profileDir"],
                                     timeout: timeout)
    when "device_session"
      raise ArgumentError, "the Ruby DeviceSessionStrategy takes no store" if store

      StackAuth::DeviceSessionStrategy.from_profile(profile_dir: opts["profileDir"], base_url: opts["baseUrl"],
                                                    timeout: timeout)
    when "static" then StackAuth::StaticTokenStrategy.new(args["token"])
    else raise ArgumentError, "unknown strategy #{kind.inspect}"
    end
  end

  # count first calls at once: threads on get_token behind a gate, or (api "async") get_token_async
  # with its block answering into a queue.
  def concurrent(strategy, count, api)
    if api == "async"
      q = Queue.new
      count.times { strategy.get_token_async { |tok, err| q << (tok || err) } }
      return Array.new(count) { (r = q.pop).is_a?(StackAuth::Error) ? error(r) : token(r) }
    end
    ready = Queue.new
    gate = Queue.new
    threads = Array.new(count) do
      Thread.new do
        ready << 1
        gate.pop # every thread starts its call at once
        answer { strategy.get_token }
      end
    end
    count.times { ready.pop }
    count.times { gate << 1 }
    threads.map { |t| t.join(60) ? t.value : nil }
  end

  def handle(req)
    case req["op"]
    when "hello" then { "lang" => "ruby", "info" => StackAuth.build_info }
    when "live" then {}
    when "env"
      req["unset"].each { |k| ENV.delete(k) }
      req["set"].each { |k, v| ENV[k] = v }
      {}
    when "login_begin"
      begin
        o = req["options"]
        @flow = StackAuth.begin_device_code_flow(req["region"], base_url: o["baseUrl"],
                                                                profile_dir: o["profileDir"],
                                                                timeout: o["timeoutMs"] / 1000.0)
        { "userCode" => @flow.user_code }
      rescue StackAuth::Error => e
        error(e)
      end
    when "login_poll"
      begin
        @flow.poll_for_token(timeout: req["timeoutMs"] / 1000.0)
        { "ok" => true }
      rescue StackAuth::Error => e
        error(e)
      end
    when "store"
      begin
        @store = req["url"] == "memory" ? StackAuth::InMemoryTokenStore.new : StackAuth.open_store(req["url"])
        {}
      rescue StackAuth::Error => e
        error(e)
      end
    when "create"
      begin
        @strategies << build(req["strategy"], req["args"], req["options"], req["store"])
        { "id" => @strategies.size - 1, "strings" => [["inspect(strategy)", @strategies.last.inspect]] }
      rescue StackAuth::Error => e
        error(e)
      rescue StandardError => e # not the gem's error type
        { "host" => e.class.to_s, "message" => e.message, "strings" => [["message", e.message]] }
      end
    when "get_token"
      s = @strategies[req["id"]]
      t = req["timeoutMs"]
      answer { t.nil? ? s.get_token : s.get_token(timeout: t / 1000.0) }
    when "concurrent" then { "results" => concurrent(@strategies[req["id"]], req["n"], req["api"]) }
    when "invalidate"
      begin
        { "value" => @strategies[req["id"]].invalidate(@tokens[req["ref"]]) }
      rescue StackAuth::Error => e
        error(e)
      end
    when "close"
      @strategies.each(&:close)
      @store&.close
      @flow&.close
      initialize
      req["unset"].each { |k| ENV.delete(k) }
      {}
    else raise ArgumentError, "unknown op #{req['op'].inspect}"
    end
  end
end

testee = Testee.new
$stdout.sync = true
$stdin.each_line { |line| puts JSON.generate(testee.handle(JSON.parse(line))) }
