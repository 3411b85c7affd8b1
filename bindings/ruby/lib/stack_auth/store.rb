# frozen_string_literal: true

module StackAuth
  # Where a strategy keeps its token between processes or restarts. Pass one as the store:
  # of a strategy; the strategy keeps its own reference, so closing (or dropping) the store
  # object does not affect strategies already using it.
  class TokenStore
    # #close releases this reference to the store (idempotent).
    include OwnsHandle
    alias to_s inspect

    # @api private
    attr_reader :handle

    # @api private
    def self.adopt(handle)
      allocate.send(:adopt, handle)
    end

    private

    def adopt(handle)
      own(:store, handle)
    end
  end

  # A store private to this process.
  class InMemoryTokenStore < TokenStore
    def initialize
      super
      adopt(Native.new_handle(:sa_store_memory_new))
    end
  end

  # A store backed by Ruby callables:
  #
  #   StackAuth::TokenStoreFn.new(
  #     load: -> { redis.get("cs-token") },          # the saved JSON String, or nil
  #     save: ->(json) { redis.set("cs-token", json) },
  #   )
  #
  # Every store is scoped per credential: callables that take one more argument,
  # `load: ->(scope) { }` and `save: ->(json, scope) { }`, get the scope (a non-secret String
  # naming the workspace, key id or JWT digest, and audience) to key what they keep by. A
  # store with one slot is safe too: a token saved for another scope is a miss.
  #
  # The JSON holds the token (a secret): keep it somewhere private. An exception in load
  # counts as "nothing stored" and one in save is ignored (the strategy still works from
  # memory); a hook that does not return within timeout (seconds; default 30) is abandoned.
  class TokenStoreFn < TokenStore
    def initialize(load:, save:, timeout: nil)
      super()
      raise InvalidArgument, "load must respond to #call (or be nil)" unless load.nil? || load.respond_to?(:call)
      raise InvalidArgument, "save must respond to #call (or be nil)" unless save.nil? || save.respond_to?(:call)

      opts = Native.options_json(timeoutMs: Args.timeout_option(timeout))
      adopt_hook(Callbacks::Entry.new(:store, nil, load, save)) do |user_data|
        Native.new_handle(:sa_store_fn_new_ex, load && Callbacks.load, save && Callbacks.save,
                          user_data, Callbacks.destroy, opts)
      end
    end
  end

  # Opens a store by URL: "memory:" (this process only), "file:///absolute/path" (shared by
  # every process on the host, with a lock) or a Redis URL shared by a fleet: redis://,
  # rediss:// (TLS), redis+sentinel://h1:26379,h2:26379/master/db, redis+cluster://h1:7000,h2:7001
  # (README.md, "Redis token stores").
  def self.open_store(url)
    TokenStore.adopt(Native.new_handle(:sa_store_open, Args.str("url", url)))
  end
end
