// Part of `npm run build`: tsc emits the lab page's script into dist/; this copies the page's HTML
// beside it, so the package serves the same files a checkout does.
import { copyFileSync, mkdirSync } from 'node:fs'

mkdirSync('dist/server/lab-page', { recursive: true })
copyFileSync('server/lab-page/index.html', 'dist/server/lab-page/index.html')
