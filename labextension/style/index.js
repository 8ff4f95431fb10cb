import './base.css';
import './curate.css';
