# frozen_string_literal: true

module StackAuth
  # The version of this gem; it tracks the library (SA_VERSION_STRING).
  VERSION = "0.1.0"
  # The C ABI this gem was written against (SA_ABI_VERSION); checked when the library loads.
  # BEGIN GENERATED abi from build/gen/tables.json (make gen)
  ABI_VERSION = 1
  # END GENERATED abi
end
