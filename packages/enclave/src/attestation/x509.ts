// @peculiar/x509 needs the Reflect metadata polyfill loaded first (its dependency injection uses it);
// this module is the only place in the enclave that imports the library, so the order always holds.
import 'reflect-metadata';

export {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
