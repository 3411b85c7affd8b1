# frozen_string_literal: true

module StackAuth
  # Argument checks shared by the public classes (internal).
  module Args
    module_function

    # A String argument (nil passes through: the library reports a missing required value).
    def str(name, value)
      raise InvalidArgument, "#{name} must be a String, not #{value.class}" unless value.nil? || value.is_a?(String)
      # The C ABI takes NUL-terminated strings: a NUL inside would cut the value short.
      raise InvalidArgument, "a string argument contains a NUL character" if value&.include?("\0")

      value
    end

    def store_handle(store)
      return nil if store.nil?
      raise InvalidArgument, "store must be a StackAuth::TokenStore, not #{store.class}" unless store.is_a?(TokenStore)

      store.handle
    end

    def callable(name, fn, block)
      raise InvalidArgument, "give #{name} as an argument or as a block, not both" if fn && block

      fn ||= block
      raise InvalidArgument, "#{name} is required (a block or an object that responds to #call)" if fn.nil?
      raise InvalidArgument, "#{name} must respond to #call" unless fn.respond_to?(:call)

      fn
    end

    def timeout_option(timeout)
      timeout.nil? ? nil : Native.timeout_ms(timeout)
    end

    # Yields the sa_transport handle of a transport: callable (nil: none) for one constructor
    # call; the strategy keeps its own reference, this one is released after.
    def with_transport(transport)
      return yield nil if transport.nil?
      raise InvalidArgument, "transport must respond to #call" unless transport.respond_to?(:call)

      Native.load! # the trampolines exist once the library is loaded
      user_data = Callbacks.register(Callbacks::Entry.new(:http, transport))
      begin
        handle = Native.new_handle(:sa_transport_new, Callbacks.http, user_data, Callbacks.destroy, nil)
      rescue StandardError
        Callbacks.unregister(user_data) # on failure the library never calls destroy
        raise
      end
      begin
        yield handle
      ensure
        Native.sa_transport_free(handle)
      end
    end
  end

  # One request for a transport: callable (upstream 0.43's HttpRequest): #method_name (upper
  # case), #url, #headers ([name, value] pairs, lower-case names, including the library's
  # user-agent: replace it if you like, never drop it) and #body (a binary String). It
  # carries credentials: #inspect shows only the method, URL, header names and body size.
  HttpRequest = Struct.new(:method_name, :url, :headers, :body) do
    def inspect
      "#<StackAuth::HttpRequest #{method_name} #{url.to_s.split('?').first} headers=#{headers.map(&:first)} " \
        "body=#{body.bytesize} bytes>"
    end
    alias_method :to_s, :inspect
  end

  # What a transport: callable returns (or [status, headers, body]): the server's answer,
  # whatever its status.
  HttpResponse = Struct.new(:status, :headers, :body, keyword_init: true)

  # A source of service tokens. Every strategy caches and refreshes its token inside the
  # library: #get_token is cheap when the cached token is fresh, and concurrent callers share
  # one refresh. Strategies are thread-safe.
  #
  # Close a strategy with #close when done (its hooks are released and waiting calls end with
  # Cancelled), or let the GC do it. The block form closes for you:
  #
  #   StackAuth::AccessKeyStrategy.open(workspace_crn: crn, access_key: key) do |strategy|
  #     strategy.get_token.token
  #   end
  class Strategy
    include OwnsHandle
    alias to_s inspect

    # Builds the strategy with the arguments of the class's constructor; with a block, yields
    # it, closes it when the block ends (also on an exception) and returns the block's value.
    def self.open(*args, **kwargs)
      strategy = build(*args, **kwargs)
      return strategy unless block_given?

      begin
        yield strategy
      ensure
        strategy.close
      end
    end

    # @api private
    def self.build(*args, **kwargs)
      new(*args, **kwargs)
    end

    # Returns a fresh token, waiting (with the GVL released) for a refresh when the cached one
    # is missing or expired. timeout is in seconds (nil: the strategy's, 30 s by default).
    # Raises a StackAuth::Error subclass: the token service's refusal (InvalidAccessKey,
    # WorkspaceMismatch, UsageLimitExceeded, ...), Timeout, CallbackError, Cancelled, ...
    def get_token(timeout: nil)
      ms = timeout.nil? ? 0 : Native.timeout_ms(timeout)
      Reaper.flush
      out = Native.out_u64
      status = Native.sa_get_token(out, @handle, ms)
      raise Errors.last(status) unless status.zero?

      ServiceToken.from_handle(out.read_uint64)
    end

    # Never waits: the cached token (a stale one starts a background refresh), or nil when only
    # waiting would give one (then use #get_token or #get_token_async).
    def try_get_token
      Reaper.flush
      out = Native.out_u64
      status = Native.sa_try_get_token(out, @handle)
      return ServiceToken.from_handle(out.read_uint64) if status.zero?
      return nil if status == Native::E_WOULD_BLOCK

      raise Errors.last(status)
    end

    # Starts getting a token and returns at once. The block is called exactly once, on a
    # library thread (as an ffi callback thread), with (token, nil) or (nil, error), within
    # the strategy's timeout. Raises only when the request could not start.
    def get_token_async(&block)
      raise InvalidArgument, "get_token_async needs a block" unless block

      Reaper.flush
      user_data = Callbacks.register(Callbacks::Entry.new(:done, block))
      status = Native.sa_get_token_async(@handle, Callbacks.done, user_data)
      return nil if status.zero?

      error = Errors.last(status)
      Callbacks.unregister(user_data)
      raise error
    end

    # Tells the strategy that the server rejected token (an HTTP 401): if it is still the
    # current token, the next #get_token gets a new one. A late 401 for an older token changes
    # nothing. Returns true when a refresh was forced.
    def invalidate(token)
      unless token.is_a?(ServiceToken) && token.handle != 0
        raise InvalidArgument, "invalidate needs a ServiceToken returned by a strategy's get_token"
      end

      out = FFI::MemoryPointer.new(:int32)
      status = Native.sa_strategy_invalidate(@handle, token.handle, out)
      raise Errors.last(status) unless status.zero?

      out.read_int32 == 1
    end

    # Calls the block with each thing the refresh engine does, a Hash such as
    # {"kind" => "refresh_succeeded", "reason" => "initial", "source" => "network",
    # "latencyMs" => 12.5}; kinds: refresh_started, refresh_succeeded, refresh_failed (with
    # "errorCode"), token_invalidated, store_degraded (a store failed; the engine goes on
    # without it). Never a secret. The block runs on a library callback thread, in order; the
    # engine never waits for it; an exception in it is logged (StackAuth.logger). Without a
    # block, removes it. AuthStrategyFn and StaticTokenStrategy have no engine: InvalidArgument.
    def on_event(&block)
      if block.nil?
        status = Native.sa_strategy_set_event_hook(@handle, nil, nil, nil)
        raise Errors.last(status) unless status.zero?

        return nil
      end
      user_data = Callbacks.register(Callbacks::Entry.new(:event, block))
      status = Native.sa_strategy_set_event_hook(@handle, Callbacks.event, user_data, Callbacks.destroy)
      return nil if status.zero?

      error = Errors.last(status)
      Callbacks.unregister(user_data) # on failure the library never calls destroy
      raise error
    end

    # Frees the strategy: calls still waiting end with Cancelled, later calls raise
    # InvalidHandle, and its hooks are released once they are no longer running. Idempotent.
    def close
      Reaper.flush unless @closed
      super
    end

    # @api private
    attr_reader :handle

    private

    # The on_event: option; the strategy is closed if it cannot be set.
    def with_events(on_event)
      return self if on_event.nil?

      raise InvalidArgument, "on_event must respond to #call" unless on_event.respond_to?(:call)

      begin
        on_event { |event| on_event.call(event) }
      rescue StandardError
        close
        raise
      end
      self
    end

    def adopt(handle)
      own(:strategy, handle)
    end
  end

  # Picks the credential from the environment (or the keywords): an access key
  # (CS_CLIENT_ACCESS_KEY with CS_WORKSPACE_CRN) beats a device session saved by
  # `stack-auth login`; with neither it raises NotAuthenticated. CS_CTS_HOST, CS_CONFIG_PATH
  # and CS_TOKEN_STORE are honoured too, read when #detect runs (so ENV changes made after
  # the library loaded count).
  class AutoStrategy < Strategy
    private_class_method :new

    # With a block: yields the strategy, closes it, and returns the block's value.
    def self.detect(access_key: nil, workspace_crn: nil, store: nil, base_url: nil, profile_dir: nil,
                    timeout: nil, on_event: nil, transport: nil, &block)
      self.open(access_key: access_key, workspace_crn: workspace_crn, store: store, base_url: base_url,
                profile_dir: profile_dir, timeout: timeout, on_event: on_event, transport: transport, &block)
    end

    # @api private
    def self.build(access_key: nil, workspace_crn: nil, store: nil, base_url: nil, profile_dir: nil, timeout: nil,
                   on_event: nil, transport: nil)
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(
          accessKey: Args.str("access_key", access_key), workspaceCrn: Args.str("workspace_crn", workspace_crn),
          store: Args.store_handle(store), baseUrl: Args.str("base_url", base_url),
          profileDir: Args.str("profile_dir", profile_dir), timeoutMs: Args.timeout_option(timeout), transport: tr
        )
        allocate.send(:adopt, Native.new_handle(:sa_auto_strategy_detect, opts))
      end.send(:with_events, on_event)
    end
  end

  # An access key ("CSAK<key-id>.<secret>") bound to one workspace
  # ("crn:<region>:<workspace-id>").
  class AccessKeyStrategy < Strategy
    # on_event: a callable given each engine event (see Strategy#on_event).
    def initialize(workspace_crn:, access_key:, store: nil, base_url: nil, timeout: nil, on_event: nil, transport: nil)
      super()
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(store: Args.store_handle(store), baseUrl: Args.str("base_url", base_url),
                                   timeoutMs: Args.timeout_option(timeout), transport: tr)
        adopt(Native.new_handle(:sa_access_key_strategy_new, Args.str("workspace_crn", workspace_crn),
                                Args.str("access_key", access_key), opts))
      end
      with_events(on_event)
    end
  end

  # The session saved by a device-code login (`stack-auth login`, or
  # StackAuth.begin_device_code_flow), refreshed with its rotating refresh token under a lock
  # shared with other processes.
  class DeviceSessionStrategy < Strategy
    private_class_method :new

    # With a block: yields the strategy, closes it, and returns the block's value.
    def self.from_profile(profile_dir: nil, base_url: nil, timeout: nil, on_event: nil, transport: nil, &block)
      self.open(profile_dir: profile_dir, base_url: base_url, timeout: timeout, on_event: on_event, transport: transport,
           &block)
    end

    # @api private
    def self.build(profile_dir: nil, base_url: nil, timeout: nil, on_event: nil, transport: nil)
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(profileDir: Args.str("profile_dir", profile_dir),
                                   baseUrl: Args.str("base_url", base_url), timeoutMs: Args.timeout_option(timeout),
                                   transport: tr)
        allocate.send(:adopt, Native.new_handle(:sa_device_session_strategy_from_profile, opts))
      end.send(:with_events, on_event)
    end
  end

  # Upstream's name for DeviceSessionStrategy.
  OAuthStrategy = DeviceSessionStrategy

  # Always returns the same token (tests, fixed credentials).
  class StaticTokenStrategy < Strategy
    def initialize(token)
      super()
      adopt(Native.new_handle(:sa_static_token_strategy_new, Args.str("token", token)))
    end
  end

  # User functions run in the caller (docs/architecture.md D4): on its thread and fiber (so under a
  # Fiber.scheduler their IO lets other fibers run), and what they return goes to the library
  # by a C call. An exception they raise reaches the caller as CallbackError (#code: its class
  # name), with the exception as #cause.
  module InCaller
    private

    def call_user(fn)
      fn.call
    rescue SignalException, SystemExit
      raise
    rescue Exception => e # rubocop:disable Lint/RescueException
      raise callback_error(e.class.name || "Exception", e.message) # e becomes #cause
    end

    def callback_error(code, message)
      message = message.to_s.encode("UTF-8", invalid: :replace, undef: :replace).delete("\0")
      Errors.last(Native.sa_callback_error(code.delete("\0"), message))
    end

    def bearer(value, what)
      value = value.token if value.is_a?(ServiceToken)
      return value if value.is_a?(String) # an empty one is the library's call (CUSTOM)

      raise callback_error("TypeError", "#{what} must return a String, not #{value.class}")
    end
  end

  # A strategy whose tokens come from Ruby: the block (or callable) is called for every
  # #get_token (no caching), on the calling thread and fiber, and returns the bearer String,
  # which the library checks. An exception it raises reaches the caller as CallbackError with
  # the exception as #cause. The block is your own code on your own thread: bound it yourself
  # if it may hang (timeout: bounds the waits of #get_token_async).
  #
  #   StackAuth::AuthStrategyFn.new { vault.read("cs-token") }
  class AuthStrategyFn < Strategy
    include InCaller

    def initialize(fn = nil, timeout: nil, &block)
      super()
      @fn = Args.callable("the token function", fn, block)
      opts = Native.options_json(timeoutMs: Args.timeout_option(timeout))
      adopt_hook(Callbacks::Entry.new(:token, @fn)) do |ud|
        Native.new_handle(:sa_strategy_fn_new_ex, Callbacks.get_token, ud, Callbacks.destroy, opts)
      end
    end

    def get_token(timeout: nil)
      return super if closed?

      value = bearer(call_user(@fn), "the block")
      out = Native.out_u64
      status = Native.sa_token_from_value(out, value, value.bytesize)
      raise Errors.last(status) unless status.zero?

      ServiceToken.from_handle(out.read_uint64)
    end

    def close
      super
      @fn = nil # only the library's hook registry keeps the callable alive
    end
  end

  # OIDC federation: the block (or callable) returns the caller's OIDC JWT (from the CI
  # provider, the cloud's metadata service, ...); each distinct JWT is exchanged once for a
  # service token, which is cached and refreshed by the library, for up to cache_capacity JWTs
  # (default 1024, least recently used dropped first; 0 caches nothing). The block runs on the
  # calling thread and fiber; a cached token comes back without leaving it. #get_token(jwt:)
  # takes the caller's JWT and never calls the block (one strategy for a multi-tenant server;
  # the block may then be omitted).
  class OidcFederationStrategy < Strategy
    include InCaller

    def initialize(workspace_crn:, provider: nil, store: nil, base_url: nil, timeout: nil, cache_capacity: nil,
                   on_event: nil, transport: nil, &block)
      super()
      raise InvalidArgument, "give the JWT provider as provider: or as a block, not both" if provider && block

      fn = provider || block
      raise InvalidArgument, "the JWT provider must respond to #call" if fn && !fn.respond_to?(:call)

      crn = Args.str("workspace_crn", workspace_crn)
      @provider = fn
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(store: Args.store_handle(store), baseUrl: Args.str("base_url", base_url),
                                   timeoutMs: Args.timeout_option(timeout), cacheCapacity: cache_capacity,
                                   transport: tr)
        if fn.nil?
          Native.load!
          adopt(Native.new_handle(:sa_oidc_federation_strategy_new, crn, nil, nil, nil, opts))
        else
          adopt_hook(Callbacks::Entry.new(:token, fn)) do |ud|
            Native.new_handle(:sa_oidc_federation_strategy_new, crn, Callbacks.get_token, ud, Callbacks.destroy, opts)
          end
        end
      end
      with_events(on_event)
    end

    # jwt: the caller's OIDC JWT (the provider is not called).
    def get_token(timeout: nil, jwt: nil)
      return super(timeout: timeout) if closed?

      jwt = jwt.nil? ? provided_jwt : Args.str("jwt", jwt)
      Reaper.flush
      out = Native.out_u64
      status = Native.sa_oidc_try_get_token_with_jwt(out, @handle, jwt, jwt.bytesize)
      if status == Native::E_WOULD_BLOCK
        ms = timeout.nil? ? 0 : Native.timeout_ms(timeout)
        status = Native.sa_oidc_get_token_with_jwt(out, @handle, jwt, jwt.bytesize, ms)
      end
      raise Errors.last(status) unless status.zero?

      ServiceToken.from_handle(out.read_uint64)
    end

    # As Strategy#get_token_async; jwt: as for #get_token. The provider runs now, here.
    def get_token_async(jwt: nil, &block)
      raise InvalidArgument, "get_token_async needs a block" unless block
      return super(&block) if closed?

      jwt = jwt.nil? ? provided_jwt : Args.str("jwt", jwt)
      Reaper.flush
      user_data = Callbacks.register(Callbacks::Entry.new(:done, block))
      status = Native.sa_oidc_get_token_with_jwt_async(@handle, jwt, jwt.bytesize, 0, Callbacks.done, user_data)
      return nil if status.zero?

      error = Errors.last(status)
      Callbacks.unregister(user_data)
      raise error
    end

    def close
      super
      @provider = nil
    end

    private

    def provided_jwt
      if @provider.nil?
        raise InvalidArgument, "this OidcFederationStrategy has no provider: pass the caller's JWT, get_token(jwt: ...)"
      end

      jwt = call_user(@provider)
      return jwt if jwt.is_a?(String) # an empty JWT is sent, as upstream does

      raise callback_error("TypeError", "the JWT provider must return a String, not #{jwt.class}")
    end
  end
end
