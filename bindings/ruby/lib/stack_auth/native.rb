# frozen_string_literal: true

require "ffi"

module StackAuth
  # The raw C ABI of libstack_auth (include/stack_auth.h), attached with the ffi gem.
  #
  # The library is loaded lazily, on the first use of the gem (never at require time: it
  # contains a Go runtime, which does not survive fork, so a preloading server must be able to
  # require the gem before forking and load the library in each worker).
  #
  # Every function that can block or run a host hook is attached with `blocking: true`, so
  # the calling thread releases the GVL while it is inside the library. Hooks run on Go
  # threads; ruby-ffi hands them to its callback dispatcher thread, which needs the GVL: a
  # call that kept the GVL while the library waited for a hook would deadlock
  # (docs/c-abi.md P1, "Threading model").
  #
  # This module is internal; the public API is in StackAuth.
  module Native
    extend FFI::Library

    # BEGIN GENERATED statuses from build/gen/tables.json (make gen)
    OK = 0
    E_AUTH = -1
    E_INVALID_ARG = -2
    E_INVALID_HANDLE = -3
    E_TIMEOUT = -4
    E_CANCELLED = -5
    E_FORKED = -6
    E_CALLBACK = -7
    E_INTERNAL = -8
    E_WOULD_BLOCK = -9
    # END GENERATED statuses

    # The library's file name on this OS.
    LIBRARY_NAME =
      if Gem.win_platform? then "stack_auth.dll"
      elsif RUBY_PLATFORM.include?("darwin") then "libstack_auth.1.dylib"
      else
        "libstack_auth.so.1"
      end

    # Where the library is looked for, in order: $STACK_AUTH_LIB, the copy inside this gem
    # (lib/stack_auth/, put there by build.sh or the platform gem), the system's loader path.
    def self.candidates
      env = ENV["STACK_AUTH_LIB"]
      return [env] if env && !env.empty?

      bundled = File.expand_path(LIBRARY_NAME, __dir__)
      File.exist?(bundled) ? [bundled] : [LIBRARY_NAME]
    end

    @loaded = false
    @lock = Mutex.new

    class << self
      # Loads the library once; raises StackAuth::LibraryError when it cannot be loaded or
      # its ABI is not the one this gem speaks.
      def load!
        return true if @loaded

        @lock.synchronize do
          return true if @loaded

          begin
            ffi_lib(candidates)
          rescue LoadError => e
            raise LibraryError, "libstack_auth could not be loaded (#{e.message}); set STACK_AUTH_LIB to its path"
          end
          attach_all
          abi = sa_abi_version
          if abi != ABI_VERSION
            raise LibraryError, "libstack_auth ABI #{abi} is not the ABI #{ABI_VERSION} this gem needs"
          end

          sa_set_host_language("ruby") # help texts in errors name this gem's API
          Callbacks.install
          sa_set_log_handler(Callbacks.log, 0, nil) # the library's log lines, SA_LOG_INFO and up
          @loaded = true
        end
      end

      def loaded?
        @loaded
      end

      private

      def attach_all
        callback :sa_get_token_fn, %i[pointer uint64], :void
        callback :sa_store_load_fn, %i[pointer uint64], :void
        callback :sa_store_save_fn, %i[pointer uint64 pointer size_t], :void
        callback :sa_token_done_fn, %i[pointer int32 uint64 string], :void
        callback :sa_destroy_fn, %i[pointer], :void
        callback :sa_event_fn, %i[pointer pointer size_t], :void
        callback :sa_http_send_fn, %i[pointer uint64 string pointer size_t], :void
        callback :sa_log_fn, %i[pointer int32 pointer size_t], :void

        # Never block, never call back.
        attach_function :sa_abi_version, [], :uint32
        attach_function :sa_set_host_language, [:string], :int32
        attach_function :sa_set_log_handler, %i[sa_log_fn int32 pointer], :int32
        attach_function :sa_version_number, [], :uint32
        attach_function :sa_version_string, [], :string
        attach_function :sa_build_info, [], :string
        attach_function :sa_last_error_code, [], :string
        attach_function :sa_last_error_message, [], :string
        attach_function :sa_last_error_json, [], :string
        attach_function :sa_last_error_status, [], :int32
        attach_function :sa_free, %i[pointer], :void
        attach_function :sa_token_value, %i[uint64 pointer pointer], :int32
        attach_function :sa_token_json, %i[uint64 pointer pointer], :int32
        attach_function :sa_device_flow_json, %i[uint64 pointer pointer], :int32
        attach_function :sa_debug_live_objects, [], :int64
        # Never block and never run a hook: the hot path of in-caller user functions keeps the GVL.
        attach_function :sa_oidc_try_get_token_with_jwt, %i[pointer uint64 pointer size_t], :int32
        attach_function :sa_token_from_value, %i[pointer pointer size_t], :int32
        attach_function :sa_callback_error, %i[string string], :int32

        # Everything else may block, run a hook, or call a destroy notifier: blocking.
        b = { blocking: true }
        attach_function :sa_auto_strategy_detect, %i[pointer string], :int32, **b
        attach_function :sa_access_key_strategy_new, %i[pointer string string string], :int32, **b
        attach_function :sa_device_session_strategy_from_profile, %i[pointer string], :int32, **b
        attach_function :sa_static_token_strategy_new, %i[pointer string], :int32, **b
        attach_function :sa_strategy_fn_new_ex,
                        %i[pointer sa_get_token_fn pointer sa_destroy_fn string], :int32, **b
        attach_function :sa_oidc_federation_strategy_new,
                        %i[pointer string sa_get_token_fn pointer sa_destroy_fn string], :int32, **b
        attach_function :sa_strategy_free, %i[uint64], :void, **b
        attach_function :sa_strategy_invalidate, %i[uint64 uint64 pointer], :int32, **b
        attach_function :sa_strategy_set_event_hook, %i[uint64 sa_event_fn pointer sa_destroy_fn], :int32, **b

        attach_function :sa_get_token, %i[pointer uint64 int32], :int32, **b
        attach_function :sa_try_get_token, %i[pointer uint64], :int32, **b
        attach_function :sa_get_token_async, %i[uint64 sa_token_done_fn pointer], :int32, **b
        attach_function :sa_oidc_get_token_with_jwt, %i[pointer uint64 pointer size_t int32], :int32, **b
        attach_function :sa_oidc_get_token_with_jwt_async,
                        %i[uint64 pointer size_t int32 sa_token_done_fn pointer], :int32, **b
        attach_function :sa_token_free, %i[uint64], :void, **b

        attach_function :sa_store_memory_new, %i[pointer], :int32, **b
        attach_function :sa_store_fn_new_ex,
                        %i[pointer sa_store_load_fn sa_store_save_fn pointer sa_destroy_fn string],
                        :int32, **b
        attach_function :sa_store_open, %i[pointer string], :int32, **b
        attach_function :sa_store_free, %i[uint64], :void, **b

        attach_function :sa_request_resolve, %i[uint64 pointer size_t], :int32, **b
        attach_function :sa_request_reject, %i[uint64 string string], :int32, **b
        attach_function :sa_request_scope, %i[uint64 pointer pointer], :int32, **b
        attach_function :sa_request_respond, %i[uint64 int32 string pointer size_t], :int32, **b
        attach_function :sa_transport_new, %i[pointer sa_http_send_fn pointer sa_destroy_fn string], :int32, **b
        attach_function :sa_transport_free, %i[uint64], :void, **b

        attach_function :sa_device_code_begin, %i[pointer string string string], :int32, **b
        attach_function :sa_device_flow_open_browser, %i[uint64 pointer], :int32, **b
        attach_function :sa_device_code_poll, %i[uint64 int32 pointer pointer], :int32, **b
        attach_function :sa_device_flow_free, %i[uint64], :void, **b
        attach_function :sa_bind_client_device, %i[string], :int32, **b
        attach_function :sa_flush, %i[int32], :int32, **b
      end
    end

    # --- helpers used by the public classes -------------------------------------------

    # Calls a constructor-like function (out-param first) and returns the new handle.
    def self.new_handle(name, *args)
      load!
      Reaper.flush
      out = FFI::MemoryPointer.new(:uint64)
      status = public_send(name, out, *args)
      raise Errors.last(status) if status != OK

      out.read_uint64
    end

    # Calls a function returning a library-owned string through (char **, size_t *) and
    # returns a Ruby String (UTF-8); the library's copy is zeroed and freed.
    def self.take_string(name, *args)
      out = FFI::MemoryPointer.new(:pointer)
      len = FFI::MemoryPointer.new(:size_t)
      status = public_send(name, *args, out, len)
      raise Errors.last(status) if status != OK

      ptr = out.read_pointer
      begin
        ptr.read_bytes(len.read(:size_t)).force_encoding(Encoding::UTF_8)
      ensure
        sa_free(ptr)
      end
    end

    # A per-thread (per-fiber) uint64 out-parameter, reused by the hot calls.
    def self.out_u64
      Thread.current[:__stack_auth_out_u64] ||= FFI::MemoryPointer.new(:uint64)
    end

    # options_json for the library: nil values are left out; nil when nothing is set.
    def self.options_json(**opts)
      opts = opts.compact
      opts.empty? ? nil : JSON.generate(opts)
    end

    # Seconds (Numeric) to the library's int32 milliseconds, rounded away from zero (any
    # positive value is at least 1 ms) and clamped keeping the sign; nil means "the default"
    # (0). Only marshalling: the library decides which values are valid (INVALID_ARGUMENT).
    def self.timeout_ms(timeout, name = "timeout")
      return 0 if timeout.nil?
      raise InvalidArgument, "#{name} must be a number of seconds" unless timeout.is_a?(Numeric) && !timeout.to_f.nan?

      ms = (timeout * 1000).clamp(-(2**31), (2**31) - 1)
      ms.positive? ? ms.ceil : ms.floor
    end
  end
end
