# frozen_string_literal: true

require "json"
require "timeout"

module StackAuth
  # The one error type of the gem. Every failure of the library is raised as a subclass of
  # StackAuth::Error (itself a StandardError) carrying:
  #
  # * #code    - the stack-auth code ("INVALID_ACCESS_KEY", "WORKSPACE_MISMATCH", ...); for a
  #              CallbackError, the class name of the exception the hook raised
  # * #message - one line, never a secret
  # * #help    - what to do about it, or nil
  # * #url     - where to read more, or nil
  # * #payload - any further structured detail (a Hash with String keys; often empty)
  # * #status  - the C status it came with (StackAuth::Native::E_*), or nil
  # * #retryable? - whether trying again may succeed (the library's rule, docs/errors.md)
  class Error < StandardError
    # What every StackAuth error has (Timeout, a ::Timeout::Error, includes it too).
    module Fields
      attr_reader :code, :help, :url, :payload, :status

      def initialize(message = nil, code: nil, help: nil, url: nil, payload: {}, status: nil, retryable: false)
        @code = code || self.class.default_code
        @help = help
        @url = url
        @payload = payload.freeze
        @status = status
        @retryable = retryable
        super(message || @code)
      end

      def retryable?
        @retryable
      end

      def to_h
        { "type" => code, "message" => message, "help" => help, "url" => url }.compact
                                                                              .merge("retryable" => retryable?).merge(payload)
      end

      def inspect
        "#<#{self.class.name} code=#{code.inspect} message=#{message.inspect}>"
      end
    end
    include Fields

    def self.default_code
      "CUSTOM"
    end

    # `rescue StackAuth::Error` also catches StackAuth::Timeout, whose superclass is
    # ::Timeout::Error (so `rescue Timeout::Error` catches it as well).
    def self.===(other)
      super || (equal?(Error) && other.is_a?(StackAuth::Timeout))
    end
  end

  # Defines one Error subclass per stack-auth code (upstream's codes, identical in every
  # language): code => class name.
  # BEGIN GENERATED codes from build/gen/tables.json (make gen)
  AUTH_ERROR_CODES = {
    "REQUEST_ERROR" => :RequestError,
    "ACCESS_DENIED" => :AccessDenied,
    "INVALID_GRANT" => :InvalidGrant,
    "INVALID_CLIENT" => :InvalidClient,
    "INVALID_URL" => :InvalidUrl,
    "INVALID_REGION" => :InvalidRegion,
    "INVALID_CRN" => :InvalidCrn,
    "MISSING_WORKSPACE_CRN" => :MissingWorkspaceCrn,
    "NOT_AUTHENTICATED" => :NotAuthenticated,
    "EXPIRED_TOKEN" => :TokenExpired,
    "INVALID_ACCESS_KEY" => :InvalidAccessKey,
    "INVALID_TOKEN" => :InvalidToken,
    "SERVER_ERROR" => :ServerError,
    "STORE_ERROR" => :StoreError,
    "WORKSPACE_MISMATCH" => :WorkspaceMismatch,
    "INVALID_WORKSPACE_ID" => :InvalidWorkspaceId,
    "USAGE_LIMIT_EXCEEDED" => :UsageLimitExceeded,
    "ORG_NOT_PROVISIONED" => :OrgNotProvisioned,
    "ALREADY_CONSUMED" => :AlreadyConsumed,
    "INTERNAL_ERROR" => :InternalError,
    "CUSTOM" => :CustomError,
  }.freeze
  # END GENERATED codes

  AUTH_ERROR_CODES.each do |code, name|
    klass = Class.new(Error) { define_singleton_method(:default_code) { code } }
    const_set(name, klass)
  end

  # WORKSPACE_MISMATCH: the credential belongs to another workspace than the CRN names.
  class WorkspaceMismatch
    # The workspace id the strategy was configured for.
    def expected
      payload["expected"]
    end

    # The workspace id the token was issued for.
    def actual
      payload["actual"]
    end
  end

  # Errors of the C ABI itself rather than of the token service (the SA_E_* statuses).

  # The call waited longer than its timeout (SA_E_TIMEOUT), or a hook did not answer in time.
  # It is a ::Timeout::Error (as Ruby's own timeouts are) and, for `rescue` and #is_a?, a
  # StackAuth::Error.
  class Timeout < ::Timeout::Error
    include Error::Fields

    def self.default_code
      "TIMEOUT"
    end

    def is_a?(klass)
      klass.equal?(Error) || super
    end
    alias kind_of? is_a?
  end

  # The strategy (or device flow) was closed while the call waited (SA_E_CANCELLED).
  class Cancelled < Error
    def self.default_code
      "CANCELLED"
    end
  end

  # The library was used in a child process after fork (SA_E_FORKED): require the gem before
  # forking if you like, but create strategies in each child.
  class Forked < Error
    def self.default_code
      "FORKED"
    end
  end

  # A hook (a block of AuthStrategyFn, OidcFederationStrategy or TokenStoreFn) raised or
  # returned something that is not an answer (SA_E_CALLBACK). #code is the class name of the
  # exception the hook raised ("RuntimeError", "KeyError", ...), #message its message.
  class CallbackError < Error; end

  # A bad argument, caught by the gem or by the library (SA_E_INVALID_ARG). It is a
  # StackAuth::Error (not an ::ArgumentError), so `rescue StackAuth::Error` sees every
  # failure of the gem; Ruby's own ArgumentError still reports a wrong number of arguments
  # or a missing keyword.
  class InvalidArgument < Error
    def self.default_code
      "INVALID_ARGUMENT"
    end
  end

  # A closed strategy, store, token or device flow was used (SA_E_INVALID_HANDLE).
  class InvalidHandle < Error
    def self.default_code
      "INVALID_HANDLE"
    end
  end

  # The library could not be loaded, or speaks another ABI.
  class LibraryError < Error
    def self.default_code
      "LIBRARY_ERROR"
    end
  end

  # Maps the library's error JSON and statuses to exceptions (internal).
  module Errors
    FIXED_KEYS = %w[type message help url retryable].freeze

    STATUS_CLASSES = {
      Native::E_INVALID_ARG => InvalidArgument,
      Native::E_INVALID_HANDLE => InvalidHandle,
      Native::E_TIMEOUT => Timeout,
      Native::E_CANCELLED => Cancelled,
      Native::E_FORKED => Forked,
      Native::E_CALLBACK => CallbackError,
      Native::E_INTERNAL => InternalError,
    }.freeze

    module_function

    # The exception for the failure the library just reported on this thread. Call it right
    # after the failing call, on the same thread (the detail is kept per thread).
    def last(status)
      json = Native.sa_last_error_json
      if json.nil?
        code = Native.sa_last_error_code
        return build(status, { "type" => code, "message" => Native.sa_last_error_message })
      end
      from_json(status, json)
    end

    def from_json(status, json)
      data = begin
        JSON.parse(json)
      rescue JSON::ParserError
        { "type" => "INTERNAL_ERROR", "message" => "the library's error could not be decoded" }
      end
      data = { "type" => "INTERNAL_ERROR", "message" => data.to_s } unless data.is_a?(Hash)
      build(status, data)
    end

    def build(status, data)
      code = data["type"]
      klass = class_for(status, code)
      klass.new(data["message"] || "stack-auth error (status #{status})", code: code || klass.default_code,
                help: data["help"], url: data["url"],
                payload: data.reject { |k, _| FIXED_KEYS.include?(k) }, status: status,
                retryable: data["retryable"] == true)
    end

    def class_for(status, code)
      return STATUS_CLASSES.fetch(status) if STATUS_CLASSES.key?(status)

      name = AUTH_ERROR_CODES[code]
      name ? StackAuth.const_get(name) : Error
    end
  end
end
