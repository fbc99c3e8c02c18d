/** Writes the digits as the raw files torch_seed.py reads into the folder given, and prints its arguments. */
import { exportDigits } from '../raw-data.js';

const files = await exportDigits(process.argv[2] ?? '.');
console.log(Object.entries(files).flat().join(' '));
