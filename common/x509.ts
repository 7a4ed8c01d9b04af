/**
 * The one way to import @peculiar/x509: it needs a Reflect metadata polyfill loaded before it
 * (its ASN.1 schema decorators read it at import time), and ESM evaluates imports in order.
 */
import 'reflect-metadata';
export * from '@peculiar/x509';
