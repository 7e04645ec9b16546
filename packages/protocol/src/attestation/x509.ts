// @peculiar/x509 needs the Reflect metadata polyfill loaded first (its dependency injection uses it);
// this module is the only place in protocol that imports the library, so the order always holds.
import 'reflect-metadata';

export { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate } from '@peculiar/x509';
