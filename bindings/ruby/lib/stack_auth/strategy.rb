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

    # Frees the strategy: calls still waiting end with Cancelled, later calls raise
    # InvalidHandle, and its hooks are released once they are no longer running. Idempotent.
    def close
      return nil if @closed

      @closed = true
      ObjectSpace.undefine_finalizer(self)
      Live.remove(@handle)
      Reaper.flush
      Native.sa_strategy_free(@handle)
      nil
    end

    def closed?
      @closed ? true : false
    end

    def inspect
      "#<#{self.class.name}#{' (closed)' if @closed}>"
    end
    alias to_s inspect

    # @api private
    attr_reader :handle

    private

    def adopt(handle)
      @handle = handle
      @closed = false
      ObjectSpace.define_finalizer(self, Reaper::Finalizer.new(:strategy, handle))
      Live.add(:strategy, handle)
      self
    end

    # Builds a strategy whose hook fn lives in the callback registry until destroy.
    def adopt_hook(entry)
      Native.load!
      user_data = Callbacks.register(entry)
      begin
        handle = yield user_data
      rescue StandardError
        Callbacks.unregister(user_data) # on failure the library never calls destroy
        raise
      end
      adopt(handle)
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
                    timeout: nil, transport: nil, &block)
      open(access_key: access_key, workspace_crn: workspace_crn, store: store, base_url: base_url,
           profile_dir: profile_dir, timeout: timeout, transport: transport, &block)
    end

    # @api private
    def self.build(access_key: nil, workspace_crn: nil, store: nil, base_url: nil, profile_dir: nil, timeout: nil,
                   transport: nil)
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(
          accessKey: Args.str("access_key", access_key), workspaceCrn: Args.str("workspace_crn", workspace_crn),
          store: Args.store_handle(store), baseUrl: Args.str("base_url", base_url),
          profileDir: Args.str("profile_dir", profile_dir), timeoutMs: Args.timeout_option(timeout), transport: tr
        )
        allocate.send(:adopt, Native.new_handle(:sa_auto_strategy_detect, opts))
      end
    end
  end

  # An access key ("CSAK<key-id>.<secret>") bound to one workspace
  # ("crn:<region>:<workspace-id>").
  class AccessKeyStrategy < Strategy
    def initialize(workspace_crn:, access_key:, store: nil, base_url: nil, timeout: nil, transport: nil)
      super()
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(store: Args.store_handle(store), baseUrl: Args.str("base_url", base_url),
                                   timeoutMs: Args.timeout_option(timeout), transport: tr)
        adopt(Native.new_handle(:sa_access_key_strategy_new, Args.str("workspace_crn", workspace_crn),
                                Args.str("access_key", access_key), opts))
      end
    end
  end

  # The session saved by a device-code login (`stack-auth login`, or
  # StackAuth.begin_device_code_flow), refreshed with its rotating refresh token under a lock
  # shared with other processes.
  class DeviceSessionStrategy < Strategy
    private_class_method :new

    # With a block: yields the strategy, closes it, and returns the block's value.
    def self.from_profile(profile_dir: nil, base_url: nil, timeout: nil, &block)
      open(profile_dir: profile_dir, base_url: base_url, timeout: timeout, &block)
    end

    # @api private
    def self.build(profile_dir: nil, base_url: nil, timeout: nil)
      opts = Native.options_json(profileDir: Args.str("profile_dir", profile_dir),
                                 baseUrl: Args.str("base_url", base_url), timeoutMs: Args.timeout_option(timeout))
      allocate.send(:adopt, Native.new_handle(:sa_device_session_strategy_from_profile, opts))
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

  # A strategy whose tokens come from Ruby: the block (or callable) is called for every
  # #get_token (no caching; concurrent callers share one call) and returns the bearer String.
  # An exception it raises reaches the caller as CallbackError; a block that does not return
  # within timeout (seconds; default 30) gives Timeout.
  #
  #   StackAuth::AuthStrategyFn.new(timeout: 5) { vault.read("cs-token") }
  class AuthStrategyFn < Strategy
    def initialize(fn = nil, timeout: nil, &block)
      super()
      fn = Args.callable("the token function", fn, block)
      opts = Native.options_json(timeoutMs: Args.timeout_option(timeout))
      adopt_hook(Callbacks::Entry.new(:token, fn)) do |ud|
        Native.new_handle(:sa_strategy_fn_new_ex, Callbacks.get_token, ud, Callbacks.destroy, opts)
      end
    end
  end

  # OIDC federation: the block (or callable) returns the caller's OIDC JWT (from the CI
  # provider, the cloud's metadata service, ...); each distinct JWT is exchanged once for a
  # service token, which is cached and refreshed, for up to cache_capacity JWTs (default
  # 1024, least recently used dropped first; 0 caches nothing).
  class OidcFederationStrategy < Strategy
    def initialize(workspace_crn:, provider: nil, store: nil, base_url: nil, timeout: nil, cache_capacity: nil,
                   transport: nil, &block)
      super()
      fn = Args.callable("the JWT provider", provider, block)
      Args.with_transport(transport) do |tr|
        opts = Native.options_json(store: Args.store_handle(store), baseUrl: Args.str("base_url", base_url),
                                   timeoutMs: Args.timeout_option(timeout), cacheCapacity: cache_capacity,
                                   transport: tr)
        crn = Args.str("workspace_crn", workspace_crn)
        adopt_hook(Callbacks::Entry.new(:token, fn)) do |ud|
          Native.new_handle(:sa_oidc_federation_strategy_new, crn, Callbacks.get_token, ud, Callbacks.destroy, opts)
        end
      end
    end
  end
end
