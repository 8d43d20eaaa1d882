export { connectNats, type NatsLink, type NatsLinkOptions } from './nats-link.js';
export { PublishError, StreamPublisher, type PubAck, type PublishOptions } from './stream-publisher.js';
