export * from '@redgrad/api';
