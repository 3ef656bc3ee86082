/** A setting that cannot be used; the message names the flag or variable and the value. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_ERROR'

  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}
