export { connectNats, type NatsLink, type NatsLinkOptions } from './nats-link.js';
