# frozen_string_literal: true

module StackAuth
  # Host hooks (internal).
  #
  # The library calls a hook as fn(user_data, request) on one of its own (Go) threads; ruby-ffi
  # runs the Ruby side on a fresh "FFI Callback Runner" thread with the GVL. A hook never
  # returns its answer: it completes the request with sa_request_resolve or
  # sa_request_reject. So a Ruby exception is never lost (ruby-ffi would turn it into a zero
  # return and drop it): every body is wrapped in `rescue Exception` and rejects the request
  # with the exception's class name and message, which the caller gets as CallbackError.
  #
  # GC safety: the C side only ever sees a few FFI::Function trampolines, created once and
  # kept here for the life of the process, and a user_data pointer. The Ruby callables live in
  # the registry under that pointer until the library calls the destroy notifier (exactly
  # once, after the last call of the hook) or, for get_token_async, until the completion.
  #
  # user_data is the address of a small block of C memory owned by the registry entry, never
  # a small integer: the library keeps user_data in Go pointer-typed variables, and the Go
  # runtime aborts the process ("invalid pointer found on stack") when such a variable holds
  # a value like 0x3 while it copies a goroutine stack.
  module Callbacks
    Entry = Struct.new(:kind, :fn, :load, :save, :cell)

    @registry = {}
    @lock = Mutex.new
    @released = ConditionVariable.new

    class << self
      # Registers a hook and returns its user_data pointer.
      def register(entry)
        entry.cell = FFI::MemoryPointer.new(:uint64)
        @lock.synchronize { @registry[entry.cell.address] = entry }
        entry.cell
      end

      # Removes and returns the entry of user_data (a Pointer or an address).
      def unregister(user_data)
        address = user_data.is_a?(FFI::Pointer) ? user_data.address : user_data
        @lock.synchronize do
          @released.broadcast
          @registry.delete(address)
        end
      end

      def [](address)
        @registry[address]
      end

      # How many hooks the library still holds (tests: destroy ran).
      def live_count
        @lock.synchronize { @registry.size }
      end

      # Waits (GVL released) until a hook is released or timeout seconds pass; the library
      # releases a hook from its own thread, which needs the GVL to run the destroy notifier.
      def wait_for_release(timeout)
        @lock.synchronize { @released.wait(@lock, timeout) unless @registry.empty? }
      end

      # Creates the trampolines; called once, when the library loads.
      def install
        return if defined?(@installed)

        @get_token = FFI::Function.new(:void, %i[pointer uint64]) do |ud, req|
          Callbacks.on_get_token(ud.address, req)
        end
        @load = FFI::Function.new(:void, %i[pointer uint64]) do |ud, req|
          Callbacks.on_load(ud.address, req)
        end
        @save = FFI::Function.new(:void, %i[pointer uint64 pointer size_t]) do |ud, req, ptr, len|
          Callbacks.on_save(ud.address, req, ptr, len)
        end
        @done = FFI::Function.new(:void, %i[pointer int32 uint64 string]) do |ud, status, tok, err|
          Callbacks.on_done(ud.address, status, tok, err)
        end
        @event = FFI::Function.new(:void, %i[pointer pointer size_t]) do |ud, ptr, len|
          Callbacks.on_event(ud.address, ptr, len)
        end
        @http = FFI::Function.new(:void, %i[pointer uint64 string pointer size_t]) do |ud, req, meta, ptr, len|
          Callbacks.on_http(ud.address, req, meta, ptr, len)
        end
        @destroy = FFI::Function.new(:void, %i[pointer]) do |ud|
          Callbacks.unregister(ud.address)
        end
        @log = FFI::Function.new(:void, %i[pointer int32 pointer size_t]) do |_ud, level, ptr, len|
          Callbacks.on_log(level, ptr, len)
        end
        @installed = true
      end

      attr_reader :get_token, :load, :save, :done, :destroy, :event, :http, :log

      # One of the library's log lines (sa_set_log_handler) to StackAuth.logger: SA_LOG_DEBUG
      # (-4) .. SA_LOG_ERROR (8) become Logger::DEBUG .. Logger::ERROR; the words are the
      # library's.
      def on_log(level, ptr, len)
        StackAuth.logger&.add((level + 4) / 4, ptr.read_bytes(len).force_encoding(Encoding::UTF_8))
      rescue StandardError
        nil # a broken logger must not reach the library
      end

      # An engine event (Strategy#on_event), on ruby-ffi's callback thread; an exception in
      # the block is logged (StackAuth.logger), never raised into the library.
      def on_event(address, ptr, len)
        entry = self[address] or return
        entry.fn.call(JSON.parse(ptr.read_bytes(len).force_encoding(Encoding::UTF_8)))
      rescue Exception => e # rubocop:disable Lint/RescueException
        StackAuth.logger&.error("the on_event block raised #{e.class}: #{e.message}")
      end

      # --- bodies (run on a ruby-ffi callback runner thread) -------------------------------

      def on_get_token(address, req)
        entry = self[address] or raise InternalError, "hook 0x#{address.to_s(16)} is not registered"
        value = entry.fn.call
        value = value.token if value.is_a?(ServiceToken)
        # An empty String goes to the library, which decides: an AuthStrategyFn's empty token
        # is a failure, an OIDC provider's empty JWT is sent (as upstream does).
        raise TypeError, "the block must return a String, not #{value.class}" unless value.is_a?(String)

        resolve(req, value)
      rescue Exception => e # rubocop:disable Lint/RescueException
        reject(req, e)
      end

      def on_load(address, req)
        entry = self[address] or raise InternalError, "hook 0x#{address.to_s(16)} is not registered"
        value = takes_extra_arg?(entry.load, 0) ? entry.load.call(scope(req)) : entry.load.call
        unless value.nil? || value.is_a?(String)
          raise TypeError, "load must return a String of JSON or nil, not #{value.class}"
        end

        resolve(req, value)
      rescue Exception => e # rubocop:disable Lint/RescueException
        reject(req, e) # a store failure: the library goes on without it, and logs it
      end

      def on_save(address, req, ptr, len)
        entry = self[address] or raise InternalError, "hook 0x#{address.to_s(16)} is not registered"
        # The JSON is borrowed for the duration of this call only: copy it.
        json = ptr.read_bytes(len).force_encoding(Encoding::UTF_8)
        takes_extra_arg?(entry.save, 1) ? entry.save.call(json, scope(req)) : entry.save.call(json)
        resolve(req, nil)
      rescue Exception => e # rubocop:disable Lint/RescueException
        reject(req, e)
      end

      # A transport request: the host's client answers; an exception is "no answer".
      def on_http(address, req, meta, ptr, len)
        entry = self[address] or raise InternalError, "hook 0x#{address.to_s(16)} is not registered"
        info = JSON.parse(meta.to_s)
        # Both are borrowed for the duration of this call only: copy them.
        body = len.zero? ? +"" : ptr.read_bytes(len)
        request = HttpRequest.new(info["method"], info["url"], info["headers"].map { |k, v| [k, v] }, body)
        respond(req, entry.fn.call(request))
      rescue Exception => e # rubocop:disable Lint/RescueException
        message = "the transport failed: #{e.class}: #{e.message}".encode("UTF-8", invalid: :replace, undef: :replace)
        Native.sa_request_reject(req, "REQUEST_ERROR", message.delete("\0"))
      end

      def respond(req, response)
        status, headers, body = response.is_a?(Array) ? response : [response.status, response.headers, response.body]
        pairs = (headers || []).to_a.map { |k, v| [k.to_s.downcase, v.to_s] }
        body = body.to_s.b
        buf = body.empty? ? nil : FFI::MemoryPointer.from_string(body)
        st = Native.sa_request_respond(req, Integer(status), JSON.generate(pairs), buf, body.bytesize)
        raise Errors.last(st) unless st.zero?
      end

      # Whether a store callable accepts one argument more than `fixed` (the scope), so
      # upstream-shaped `-> { }` and `->(json) { }` keep working.
      def takes_extra_arg?(callable, fixed)
        arity = callable.respond_to?(:arity) ? callable.arity : callable.method(:call).arity
        arity == fixed + 1 || (arity.negative? && -arity - 1 <= fixed + 1)
      end

      # The credential scope of a store request (read before the request is completed).
      def scope(req)
        Native.take_string(:sa_request_scope, req)
      end

      # sa_get_token_async's completion: exactly once per registration, then unregistered.
      def on_done(address, status, token, error_json)
        entry = unregister(address)
        return Native.sa_token_free(token) if entry.nil?

        if status == Native::OK
          entry.fn.call(ServiceToken.from_handle(token), nil)
        else
          entry.fn.call(nil, Errors.from_json(status, error_json.to_s))
        end
      rescue Exception => e # rubocop:disable Lint/RescueException
        # Nobody waits for this thread: report the exception the way a dying Thread would
        # (class and message only; never a token).
        $stderr.write("stack_auth: the get_token_async block raised #{e.class}: #{e.message}\n")
      end

      private

      def resolve(req, value)
        if value.nil? || value.empty?
          Native.sa_request_resolve(req, nil, 0)
        else
          Native.sa_request_resolve(req, value, value.bytesize)
        end
      end

      def reject(req, exception)
        name = exception.class.name || "Exception"
        message = exception.message.to_s.encode("UTF-8", invalid: :replace, undef: :replace).delete("\0")
        Native.sa_request_reject(req, name.delete("\0"), message)
      rescue StandardError
        # The request must still be completed, or the caller would wait for the hook timeout.
        Native.sa_request_reject(req, "CallbackError", "the hook raised an exception that could not be described")
      end
    end
  end

  # Frees library handles of objects the GC collected (internal).
  #
  # Finalizers do not call the library themselves: a finalizer may run on any thread between
  # a failing sa_* call and the read of that thread's error detail (every sa_* call resets
  # it), and it may run while the thread holds a lock of this gem. So a finalizer only queues
  # the handle; the queue is flushed by the next call into the gem, on the calling thread,
  # before its own library call (see Reaper.flush).
  module Reaper
    @pending = []

    FREE = {
      strategy: :sa_strategy_free,
      store: :sa_store_free,
      token: :sa_token_free,
      device_flow: :sa_device_flow_free,
    }.freeze

    # A finalizer (callable) that queues handle of kind; it holds no reference to its object.
    class Finalizer
      def initialize(kind, handle)
        @kind = kind
        @handle = handle
      end

      def call(_object_id)
        Live.remove(@handle)
        Reaper.push(@kind, @handle)
      end
    end

    class << self
      def push(kind, handle)
        @pending << [kind, handle]
      end

      # Frees every queued handle. Called at the start of the gem's calls (cheap when there
      # is nothing to do); never between a library call and the read of its error.
      def flush
        return if @pending.empty?

        while (item = @pending.shift)
          Native.public_send(FREE.fetch(item[0]), item[1])
        end
      end

      def pending
        @pending.size
      end
    end
  end
end

module StackAuth
  # Strategies and device flows still open (internal), by handle. At exit they are freed, so
  # that a thread still waiting inside the library (for a slow server, or a hook that never
  # answers) ends at once with Cancelled instead of holding the process until its timeout:
  # Ruby waits for every thread before it exits, and a call inside the library cannot be
  # interrupted. at_exit handlers run before Ruby stops the other threads; this one was
  # registered when the gem was required, so it runs after the application's own handlers.
  # Then it waits (at most EXIT_FLUSH_MS) for a device session's refresh that was in flight:
  # freeing never cancels one the server may already have performed, and its rotated refresh
  # token must reach auth.json before the process ends.
  module Live
    @handles = {}
    @pid = Process.pid

    FREE = { strategy: :sa_strategy_free, device_flow: :sa_device_flow_free }.freeze
    EXIT_FLUSH_MS = 5000

    class << self
      def add(kind, handle)
        @handles[handle] = kind
      end

      def remove(handle)
        @handles.delete(handle)
      end

      def close_all
        return unless Process.pid == @pid && Native.loaded?

        @handles.keys.each do |handle| # rubocop:disable Style/HashEachMethods -- a copy: the loop deletes
          kind = @handles.delete(handle)
          Native.public_send(FREE.fetch(kind), handle) if kind
        end
        Native.sa_flush(EXIT_FLUSH_MS)
      end
    end
  end

  at_exit { Live.close_all }

  # An object that owns one library handle of a Reaper::FREE kind: #close frees it at once, or
  # the Reaper does once the object is collected; Live kinds are also freed at exit.
  module OwnsHandle
    # Frees the handle. Idempotent.
    def close
      return nil if @closed

      @closed = true
      ObjectSpace.undefine_finalizer(self)
      Live.remove(@handle)
      Native.public_send(Reaper::FREE.fetch(@handle_kind), @handle)
      nil
    end

    def closed?
      @closed ? true : false
    end

    def inspect
      "#<#{self.class.name}#{' (closed)' if @closed}>"
    end

    private

    def own(kind, handle)
      @handle_kind = kind
      @handle = handle
      @closed = false
      ObjectSpace.define_finalizer(self, Reaper::Finalizer.new(kind, handle))
      Live.add(kind, handle) if Live::FREE.key?(kind)
      self
    end

    # Adopts the handle the block makes from the registered entry's user data: the entry's
    # callables live in the callback registry until the library calls destroy.
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
end
