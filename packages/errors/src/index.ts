export {
  ERROR_CATALOGUE,
  GrpcStatus,
  codeForGrpcStatus,
  isErrorCode,
  type ErrorCode,
  type ErrorEntry,
  type GrpcStatusCode,
} from './catalogue.js';
export { PlatformError, isPlatformError, toPlatformError } from './platform-error.js';
export { FunctionErrorType, type FunctionErrorInfo } from './function-error.js';
