# frozen_string_literal: true

module StackAuth
  # A CipherStash service token: the bearer string (#token, a secret) and its claims.
  #
  # #inspect, #to_s and #to_h never show the bearer string. A token that came from a
  # strategy's #get_token keeps the library's handle (freed when the object is collected),
  # so it can be passed to Strategy#invalidate; the bearer string and the claims are read
  # from the library on first use.
  class ServiceToken
    MASK = "***"

    # @api private
    def self.from_handle(handle)
      tok = allocate
      tok.send(:init_handle, handle)
      tok
    end

    # @api private
    def self.from_json(json)
      tok = allocate
      tok.send(:init_claims, JSON.parse(json))
      tok
    end

    # The bearer string: put it in an Authorization header, never in a log.
    def token
      @token ||= Native.take_string(:sa_token_value, @handle)
    end

    # The token's subject ("CS|CSAK..." for an access key, "CS|emulator|..." for a user).
    def subject
      claims["subject"]
    end

    # The workspace id the token is for.
    def workspace_id
      claims["workspaceId"]
    end

    # The issuer URL (the token service).
    def issuer
      claims["issuer"]
    end

    # The service endpoints the token names ({"zerokms" => "https://..."}).
    def services
      claims["services"]
    end

    # When the token expires (a UTC Time).
    def expires_at
      Time.at(claims["expiresAt"].to_i).utc
    end

    # The claims, without the bearer string.
    def to_h
      { subject: subject, workspace_id: workspace_id, issuer: issuer, services: services, expires_at: expires_at }
    end

    # The claims as JSON-ready values (expires_at as ISO 8601 UTC), without the bearer string:
    # JSON.generate(token) and token.to_json give these, so a token in a logged structure
    # shows what it is for, never the secret.
    def as_json(*)
      to_h.merge(expires_at: expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    end

    def to_json(*args)
      as_json.to_json(*args)
    end

    def to_s
      "StackAuth::ServiceToken(#{MASK})"
    end

    def inspect
      "#<StackAuth::ServiceToken token=#{MASK} subject=#{subject.inspect} workspace_id=#{workspace_id.inspect} " \
        "expires_at=#{expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')}>"
    end

    # A token holds a secret: it is not serialised (Marshal, YAML), as Python refuses to pickle
    # one. Send token (the string) deliberately where it must go.
    def marshal_dump
      raise TypeError, "StackAuth::ServiceToken cannot be marshalled: it holds a secret"
    end

    def _dump(_level)
      marshal_dump
    end

    def encode_with(_coder)
      marshal_dump
    end

    def pretty_print(pp)
      pp.text(inspect)
    end

    # @api private: the library handle (0 for a token from the device-code flow).
    def handle
      @handle || 0
    end

    private

    def init_handle(handle)
      @handle = handle
      ObjectSpace.define_finalizer(self, Reaper::Finalizer.new(:token, handle))
    end

    def init_claims(data)
      @token = data.delete("token")
      @claims = data.freeze
      @handle = nil
    end

    def claims
      @claims ||= begin
        data = JSON.parse(Native.take_string(:sa_token_json, @handle))
        @token ||= data.delete("token")
        data.delete("token")
        data.freeze
      end
    end
  end
end
