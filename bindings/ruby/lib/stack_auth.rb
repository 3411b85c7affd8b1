# frozen_string_literal: true

require "json"
require "ffi"
require "logger"

require_relative "stack_auth/version"
require_relative "stack_auth/native"
require_relative "stack_auth/errors"
require_relative "stack_auth/callbacks"
require_relative "stack_auth/service_token"
require_relative "stack_auth/strategy"
require_relative "stack_auth/store"
require_relative "stack_auth/device_code"

# Short-lived CipherStash service tokens, kept fresh: the Ruby binding of libstack_auth.
#
#   require "stack_auth"
#   strategy = StackAuth::AutoStrategy.detect   # CS_CLIENT_ACCESS_KEY + CS_WORKSPACE_CRN, or a login
#   token = strategy.get_token                  # => #<StackAuth::ServiceToken token=*** ...>
#   http["Authorization"] = "Bearer #{token.token}"
#
# The library (a Go engine behind a C ABI) is loaded on first use, not at require time.
module StackAuth
  @logger = Logger.new($stderr, progname: "stack_auth", level: Logger::WARN)

  class << self
    # Where the gem reports what it does not raise: a TokenStoreFn block that failed (a load
    # failure is a cache miss, a save failure is not fatal). A ::Logger (default: $stderr,
    # WARN); never given a secret by the gem.
    attr_accessor :logger
  end
  # The library's version ("0.1.0").
  def self.library_version
    Native.load!
    Native.sa_version_string
  end

  # "stack-auth 0.1.0 (go1.x linux/amd64)".
  def self.build_info
    Native.load!
    Native.sa_build_info
  end

  # Waits until every store save and device-session exchange in flight has finished: true
  # then, false if some were still running after timeout seconds (0: do not wait). A token
  # reaches its callers before the store save that follows it, so call this before reading a
  # store the library writes.
  def self.flush(timeout = 5)
    Native.load!
    status = Native.sa_flush(Native.timeout_ms(timeout))
    return false if status == Native::E_TIMEOUT
    raise Errors.last(status) unless status.zero?

    true
  end

  # @api private: live library handles and strings (a leak check for tests).
  def self.debug_live_objects
    Native.load!
    Reaper.flush
    Native.sa_debug_live_objects
  end
end
