/**
 * The LISTEN/NOTIFY channel an append notifies and a relay listens on. Channels are database-wide,
 * so every schema gets its own: `aegispay_outbox` in `public`, `aegispay_outbox_<md5 of the schema>`
 * elsewhere (a hash keeps the name under PostgreSQL's 63-byte limit whatever the schema is called).
 * Evaluated by the server, so the append and the listener agree without configuration.
 */
export const channelSql = `(CASE WHEN current_schema() = 'public' THEN 'aegispay_outbox'
  ELSE 'aegispay_outbox_' || md5(current_schema()) END)`
